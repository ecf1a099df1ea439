// Work done without a connection: each change the technician makes offline is kept in
// IndexedDB (it survives a reload, a closed tab, a restarted tablet) and sent in order when the
// connection returns, each with its order's version, so the server's optimistic concurrency
// decides conflicts. A refused change stays in the queue with the server's message until the
// technician retries or discards it: nothing is dropped silently.
//
// Each change carries an Idempotency-Key: when the connection drops after the server made the
// change but before its answer arrived, sending it again returns the kept answer instead of a
// version conflict (fieldservice.api.idempotency).
//
// Versions: the first queued change of an order carries the version the page had read. A
// change queued behind another one of the same order is "chained": the version it needs is
// the one the server answers to the change before it, written into it when that one is sent.
import { api, ApiError, token } from "./api.js";
import { describe } from "./ui.js";

const DB_NAME = "fieldgate";
const STORE = "queue";
const listeners = new Set();
let flushing = null;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const store = t.objectStore(STORE);
      let result;
      Promise.resolve(work(store)).then((r) => { result = r; }, reject);
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Every queued change, oldest first. */
export async function queued() {
  return tx("readonly", (store) => req(store.getAll()));
}

function changed() {
  queued().then((items) => listeners.forEach((cb) => cb(items)), () => {});
}

/** ``cb(items)`` after every change of the queue (and once now). */
export function onQueueChange(cb) {
  listeners.add(cb);
  changed();
  return () => listeners.delete(cb);
}

/**
 * Keep a change for later. ``item``: {orderId, orderNumber, path (under the order), label,
 * json (with the version the page read)} or, for an image, {form: {fields}, blob, filename}.
 */
export async function enqueue(item) {
  const items = await queued();
  // a payment carries its charge's version, not the order's: never chained
  const chained = !item.ownVersion && items.some((i) => i.orderId === item.orderId);
  const entry = { ...item, status: "waiting", message: null, chained, created: Date.now(),
    key: newKey() };
  await tx("readwrite", (store) => req(store.add(entry)));
  changed();
  return entry;
}

export async function discard(id) {
  await tx("readwrite", (store) => req(store.delete(id)));
  changed();
}

/** A refused change sent again with the order's current version (after the technician read
 * the server's message and the reloaded order). */
export async function retry(id) {
  await tx("readwrite", async (store) => {
    const item = await req(store.get(id));
    if (item) {
      item.status = "waiting";
      item.message = null;
      item.chained = true; // take the current version when sent
      item.key = newKey(); // another request: the refused one's answer is kept under its key
      await req(store.put(item));
    }
  });
  changed();
  return flush();
}

/** A change's Idempotency-Key: sent again after a lost answer, it is not made twice (the
 * server answers what it answered the first time). getRandomValues works on plain HTTP too. */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function currentVersion(orderId) {
  return (await api(`/api/work-orders/${orderId}`)).version;
}

async function send(item, version) {
  const path = `/api/work-orders/${item.orderId}/${item.path}`;
  if (!item.blob) {
    return api(path, { method: "POST", json: { ...item.json, version },
      headers: item.key ? { "Idempotency-Key": item.key } : {} });
  }
  const body = new FormData();
  body.append("version", String(version));
  for (const [k, v] of Object.entries(item.form?.fields || {})) if (v) body.append(k, v);
  body.append("file", item.blob, item.filename || "image");
  let response;
  try {
    const headers = { Authorization: `Bearer ${token()}` };
    if (item.key) headers["Idempotency-Key"] = item.key;
    response = await fetch(path, { method: "POST", body, headers });
  } catch (exc) {
    throw new ApiError(0, String(exc));
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, typeof data.detail === "string" ? data.detail
      : response.statusText, data);
  }
  return data;
}

/** The order's version after a change, from the answer when it says it. */
function versionAfter(answer) {
  if (answer && typeof answer.order_version === "number") return answer.order_version;
  if (answer && typeof answer.version === "number" && "state" in answer && "number" in answer) {
    return answer.version;
  }
  return null;
}

async function put(item) {
  await tx("readwrite", (store) => req(store.put(item)));
}

/** Send what waits, oldest first; stop at the first network failure. Resolves with the
 * number of changes sent. Only one flush runs at a time. */
export function flush() {
  if (!flushing) {
    flushing = run().finally(() => { flushing = null; changed(); });
  }
  return flushing;
}

async function run() {
  let sent = 0;
  const blocked = new Set();
  for (const item of await queued()) {
    // a refused change holds back the later changes of its order
    if (item.status !== "waiting") blocked.add(item.orderId);
    if (blocked.has(item.orderId)) continue;
    try {
      const version = item.chained ? await currentVersion(item.orderId) : item.json.version;
      const answer = await send(item, version);
      sent += 1;
      await discard(item.id);
      // the next change of this order was made on top of this one: it gets this version
      let next = versionAfter(answer);
      const rest = (await queued()).filter((i) => i.orderId === item.orderId && !i.ownVersion);
      if (rest.length) {
        if (next === null) next = await currentVersion(item.orderId);
        const follower = rest[0];
        follower.json = { ...(follower.json || {}), version: next };
        follower.chained = false;
        await put(follower);
      }
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 0) return sent; // still offline
      item.status = "failed";
      item.message = describe(exc);
      await put(item);
      blocked.add(item.orderId);
    }
  }
  return sent;
}

/** Changes of one order that wait to be sent (for the page's optimistic view). */
export async function pendingFor(orderId) {
  return (await queued()).filter((i) => i.orderId === orderId);
}

window.addEventListener("online", () => { flush(); });
setInterval(() => { if (navigator.onLine) flush(); }, 15000);
