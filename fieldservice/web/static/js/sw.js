// The service worker (served at /sw.js so that it controls the whole app): keeps the app's
// files and the technician's last API answers, so the app opens and shows his orders with no
// connection. Changes made offline are not its business: the page queues them (queue.js).
//
// Strategy: network first, the cache when the network fails. A technician sees the newest
// data whenever there is a signal, and the last he saw when there is none. Only GETs of the
// app's own origin are cached; the API's answers under the signed-in user's token only (the
// page clears them at sign-out).

const SHELL = "fieldgate-shell-v3";
const DATA = "fieldgate-data-v1";
const SHELL_FILES = [
  "/", "/static/app.css", "/static/icon.svg", "/static/js/main.js", "/static/js/api.js",
  "/static/js/dom.js", "/static/js/i18n.js", "/static/js/ui.js", "/static/js/orders.js",
  "/static/js/fieldwork.js", "/static/js/queue.js", "/static/js/install.js",
];
/** API reads worth keeping for offline work (everything a technician's screens read). */
const CACHED_API = /^\/api\/(users\/me|work-orders|terminals|parts|attachments)(\/|\?|$)/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((n) => n !== SHELL && n !== DATA).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (exc) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw exc;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/" || url.pathname.startsWith("/static/")) {
    // the shell: "/" and "/#/orders/12" are one document
    const key = url.pathname === "/" ? new Request("/") : request;
    event.respondWith(networkFirst(key, SHELL).catch(() => caches.match(key)));
  } else if (CACHED_API.test(url.pathname + url.search)) {
    event.respondWith(networkFirst(request, DATA));
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "sign-out") event.waitUntil(caches.delete(DATA));
});
