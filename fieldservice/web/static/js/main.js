// The web app's shell: who is signed in, the menu of what their role may open, the router.
import { api, ApiError, setToken, token, whenUnauthorized } from "./api.js";
import { clearErrors, field, h, replace, showErrors } from "./dom.js";
import { getLocale, label, LOCALES, setLocale, STRINGS, t } from "./i18n.js";
import { boardView } from "./board.js";
import { financeView, managerView, testerView } from "./office.js";
import { orderView, ordersView } from "./orders.js";
import { discard, flush, onQueueChange, queued, retry } from "./queue.js";
import { describe, flash } from "./ui.js";

const top = document.getElementById("top");
const view = document.getElementById("view");

/** The signed-in user (GET /api/users/me), or null. */
let me = null;
/** Called when the view is left: stops its timers. */
let leaveView = () => {};
/** Changes made offline, not yet sent (queue.js keeps them in IndexedDB). */
let waiting = [];

/** What each role may open, in menu order: [route, label key, roles]. A role never sees a
 * link to a page it may not use. */
const MENU = [
  ["#/board", "nav.board", ["dispatcher", "manager", "tester", "admin"]],
  ["#/manage", "nav.manage", ["manager", "admin"]],
  ["#/finance", "nav.finance", ["finance", "manager", "admin"]],
  ["#/tester", "nav.tester", ["tester", "admin"]],
  ["#/orders", "nav.my_orders", ["technician", "installer"]],
  ["#/orders", "nav.orders", ["dispatcher", "manager", "finance", "tester", "admin"]],
  ["/fleet", "nav.fleet", ["dispatcher", "manager", "tester", "admin"]],
  ["#/password", "nav.password", null],
];

const BOARD_ROLES = ["dispatcher", "manager", "tester", "admin"];

function homeOf() {
  return me && BOARD_ROLES.includes(me.role) ? "#/board" : "#/orders";
}

function renderTop() {
  const links = me
    ? MENU.filter(([, , roles]) => !roles || roles.includes(me.role))
      .map(([href, key]) => h("a", { href, class: "nav" }, t(key)))
    : [];
  const lang = h("select", { "aria-label": "language / 语言", class: "lang",
    onChange: (e) => { setLocale(e.target.value); route(); } },
  LOCALES.map((code) => h("option", { value: code, selected: code === getLocale() },
    STRINGS[code]["lang.name"])));
  replace(top,
    h("a", { href: "#/", class: "brand" }, t("app.title")),
    h("nav", {}, links),
    h("span", { class: "spacer" }),
    me ? h("span", { class: "who", id: "who" },
      h("b", {}, me.full_name || me.username), " · ", label("role", me.role)) : null,
    h("span", { id: "net", class: navigator.onLine ? "net online" : "net offline" },
      navigator.onLine ? "" : t("net.offline")),
    me && waiting.length ? h("a", { href: "#/queue", id: "waiting",
      class: waiting.some((i) => i.status === "failed") ? "waiting failed" : "waiting" },
    t("queue.badge", { n: waiting.length })) : null,
    lang,
    me ? h("button", { type: "button", class: "link", id: "signout", onClick: signOut },
      t("signout")) : null);
}

async function signOut() {
  // changes made offline belong to this user's token: never drop them by signing out
  const items = await queued().catch(() => []);
  if (items.length) {
    flash(t("queue.signout_blocked", { n: items.length }), "warn");
    window.location.hash = "#/queue";
    return;
  }
  navigator.serviceWorker?.controller?.postMessage("sign-out");
  setToken(null);
  me = null;
  go("#/signin");
}

/** Show the view of ``hash``: once, whether or not the hash changes (a change of the hash
 * routes by itself, through ``hashchange``: routing here too rendered the view twice, and
 * what was typed into the first was lost). */
function go(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function signInView() {
  const username = h("input", { autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", autocomplete: "current-password",
    required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card narrow", id: "signin" },
    h("h1", {}, t("signin.title")),
    field(t("signin.username"), username, "username"),
    field(t("signin.password"), password, "password"),
    h("button", { class: "primary" }, t("signin.submit")),
    error,
    h("p", { class: "hint" }, t("signin.hint")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const answer = await api("/api/auth/token", {
        method: "POST", auth: false,
        form: { username: username.value, password: password.value },
      });
      setToken(answer.access_token);
      me = await api("/api/users/me");
      go(homeOf());
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 429) {
        const seconds = Number(exc.body?.retry_after_s) || 60;
        error.textContent = t("signin.locked", { minutes: Math.ceil(seconds / 60) });
      } else {
        error.textContent = exc instanceof ApiError && exc.status === 401
          ? t("signin.failed") : describe(exc);
      }
    }
  });
  return form;
}

function queueView() {
  const list = h("ul", { class: "queue", id: "queue" });
  const render = (items) => {
    if (!items.length) {
      replace(list, h("li", { class: "muted" }, t("queue.empty")));
      return;
    }
    replace(list, items.map((item) => h("li", { class: `queue-item ${item.status}` },
      h("div", { class: "row" }, h("b", {}, item.orderNumber), " · ", item.label,
        h("span", { class: "spacer" }), h("span", { class: "badge" }, t(`queue.status.${item.status}`))),
      h("div", { class: "muted" }, new Date(item.created).toLocaleString()),
      item.message ? h("p", { class: "form-error" }, item.message) : null,
      item.status === "failed" ? h("div", { class: "row" },
        h("a", { class: "button small", href: `#/orders/${item.orderId}` }, t("queue.open")),
        h("button", { type: "button", class: "small primary", onClick: () => retry(item.id) },
          t("queue.retry")),
        h("button", { type: "button", class: "small", onClick: () => {
          if (window.confirm(t("queue.discard.confirm"))) discard(item.id);
        } }, t("queue.discard"))) : null)));
  };
  const stop = onQueueChange(render);
  const el = h("section", {},
    h("div", { class: "view-head" }, h("h1", {}, t("queue.title")), h("span", { class: "spacer" }),
      h("button", { type: "button", class: "primary", onClick: () => flush() }, t("queue.send"))),
    h("p", { class: "hint" }, t("queue.hint")), list);
  return { el, leave: stop };
}

function passwordView() {
  const current = h("input", { type: "password", autocomplete: "current-password",
    required: true });
  const next = h("input", { type: "password", autocomplete: "new-password", required: true });
  const again = h("input", { type: "password", autocomplete: "new-password", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card narrow", id: "password-form" },
    h("h1", {}, t("password.title")),
    field(t("password.current"), current, "current_password"),
    field(t("password.new"), next, "new_password"),
    field(t("password.repeat"), again, "repeat"),
    h("button", { class: "primary" }, t("password.submit")),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (next.value !== again.value) {
      form.querySelector('[data-error-for="repeat"]').textContent = t("password.mismatch");
      return;
    }
    try {
      await api("/api/users/me/password", {
        method: "POST", json: { current_password: current.value, new_password: next.value },
      });
      // the change revoked every token issued before it, this one too: sign in again
      const answer = await api("/api/auth/token", {
        method: "POST", auth: false, form: { username: me.username, password: next.value },
      });
      setToken(answer.access_token);
      form.reset();
      flash(t("password.done"), "ok");
    } catch (exc) {
      exc.userMessage = describe(exc);
      showErrors(form, exc, error);
    }
  });
  return form;
}

/** Render the view of the current hash. */
export async function route() {
  leaveView();
  leaveView = () => {};
  flash("");
  const hash = window.location.hash || "#/";
  if (!token()) {
    me = null;
    renderTop();
    replace(view, signInView());
    return;
  }
  if (!me) {
    try {
      me = await api("/api/users/me");
    } catch (exc) {
      renderTop();
      if (!token()) return;  // a 401 signed us out and re-rendered
      replace(view, h("p", { class: "form-error" }, describe(exc)));
      return;
    }
  }
  renderTop();
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  let rendered;
  if (parts.length === 0 || parts[0] === "signin") {
    window.location.replace(homeOf());
    return;
  } else if (parts[0] === "orders" && parts.length === 1) {
    rendered = ordersView(me, hash);
  } else if (parts[0] === "orders" && /^\d+$/.test(parts[1])) {
    rendered = orderView(me, Number(parts[1]));
  } else if (parts[0] === "board" && BOARD_ROLES.includes(me.role)) {
    rendered = boardView(me);
  } else if (parts[0] === "manage" && ["manager", "admin"].includes(me.role)) {
    rendered = managerView();
  } else if (parts[0] === "finance" && ["finance", "manager", "admin"].includes(me.role)) {
    rendered = financeView();
  } else if (parts[0] === "tester" && ["tester", "admin"].includes(me.role)) {
    rendered = testerView();
  } else if (parts[0] === "queue") {
    rendered = queueView();
  } else if (parts[0] === "password") {
    rendered = { el: passwordView() };
  } else {
    rendered = { el: h("p", { class: "form-error" }, t("error.notfound")) };
  }
  replace(view, rendered.el);
  if (rendered.leave) leaveView = rendered.leave;
}

whenUnauthorized(() => {
  setToken(null);
  me = null;
  window.location.hash = "#/signin";
});

window.addEventListener("hashchange", route);
window.addEventListener("online", () => { renderTop(); flush(); });
window.addEventListener("offline", () => renderTop());
onQueueChange((items) => {
  const before = waiting.length;
  waiting = items;
  if (me && (before !== items.length || items.some((i) => i.status === "failed"))) renderTop();
});
if ("serviceWorker" in navigator) {
  // needs a secure context: https, or http://localhost / 127.0.0.1 (docs/web.md)
  navigator.serviceWorker.register("/sw.js").catch(() => {});
}
route();
