// Work orders: the list (a technician's day: his open orders, urgent first, deadlines counting
// down) and one order's page with exactly the actions the API allows.
import { api, ApiError } from "./api.js";
import { clearErrors, field, h, replace, showErrors } from "./dom.js";
import { formatDate, formatDateTime, formatDuration, label, refusalText, t } from "./i18n.js";
import { chargeCard, loadFieldWork, partsCard, photosCard, signatureCard, swapsCard } from "./fieldwork.js";
import { installCards } from "./install.js";
import { enqueue, flush, pendingFor } from "./queue.js";
import { describe, flash, QUEUED, queueLabel } from "./ui.js";

const PAGE = 20;
const OPEN_STATES = ["new", "awaiting_approval", "approved", "assigned", "en_route", "on_site"];
const FIELD_ROLES = ["technician", "installer"];
/** The field staff's next step in each state, offered while changes wait to be sent (the
 * server's own list of actions cannot be asked then). */
const FLOW = { assigned: ["depart", "en_route"], en_route: ["arrive", "on_site"],
  on_site: ["complete", "completed"] };

/** The order as it will be once the queued changes are sent. */
function applyPending(o, pending) {
  const view = { ...o, checklist: { ...(o.checklist || {}) } };
  for (const p of pending) {
    if (p.target) view.state = p.target;
    if (p.path === "checklist") {
      const items = { ...p.json };
      delete items.version;
      view.checklist = items;
      const all = ["tools", "spare_terminals", "sims", "documents"].every((k) => items[k]);
      view.checklist_confirmed_at = all ? new Date(p.created).toISOString() : null;
    }
    if (p.path === "report") {
      view.diagnosis = p.json.diagnosis;
      view.actions_taken = p.json.actions_taken;
    }
  }
  return view;
}

/** The deadline that matters now: response until someone is on the way, then resolution. */
function nextDeadline(sla) {
  if (!sla) return null;
  if (!sla.responded_at && sla.response_due) return { kind: "response", due: sla.response_due };
  if (!sla.resolved_at && sla.resolution_due) return { kind: "resolution", due: sla.resolution_due };
  return null;
}

/** A countdown element, refreshed by tick(). */
function slaBadge(sla) {
  const el = h("span", { class: "sla" });
  const tick = () => {
    const next = nextDeadline(sla);
    if (!sla) {
      el.textContent = "";
      return;
    }
    if (!next) {
      el.className = "sla met";
      el.textContent = sla.response_due || sla.resolution_due ? t("sla.met") : t("sla.none");
      return;
    }
    const left = new Date(next.due).getTime() - Date.now();
    const overdue = left < 0;
    el.className = `sla ${overdue ? "overdue" : left < 3600e3 ? "soon" : ""}`;
    el.textContent = t(`sla.${next.kind}_${overdue ? "overdue" : "due"}`,
      { left: formatDuration(left) });
  };
  tick();
  return { el, tick };
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, label("state", state));
}

function priorityBadge(priority) {
  return priority === "urgent"
    ? h("span", { class: "badge urgent" }, label("priority", priority)) : null;
}

/** ``#/orders?all=1&offset=20`` -> {all, offset} */
function listParams(hash) {
  const query = new URLSearchParams(hash.split("?")[1] || "");
  return { all: query.get("all") === "1", offset: Math.max(0, Number(query.get("offset")) || 0) };
}

export function ordersView(me, hash) {
  const mine = FIELD_ROLES.includes(me.role);
  const { all, offset } = listParams(hash);
  const list = h("ul", { class: "orders", id: "orders" }, h("li", { class: "muted" }, t("loading")));
  const pager = h("div", { class: "pager" });
  const ticks = [];
  const link = (params) => `#/orders?${new URLSearchParams(params)}`;
  const el = h("section", {},
    h("div", { class: "view-head" },
      h("h1", {}, t(mine ? "orders.title.mine" : "orders.title.all")),
      h("div", { class: "tabs" },
        h("a", { href: link({}), class: all ? "tab" : "tab active" }, t("orders.filter.active")),
        h("a", { href: link({ all: 1 }), class: all ? "tab active" : "tab" },
          t("orders.filter.all")))),
    list, pager);

  (async () => {
    try {
      const page = await api("/api/work-orders", {
        // "my orders": the API gives installers every order, technicians only theirs
        query: { state: all ? undefined : OPEN_STATES, sort: all ? "created" : "priority",
          assignee_id: mine ? me.id : undefined, limit: PAGE, offset },
      });
      // each order's deadlines: a technician has a handful of open orders, one page at most
      const slas = await Promise.all(page.items.map(
        (o) => api(`/api/work-orders/${o.id}/sla`).catch(() => null)));
      if (!page.items.length) {
        replace(list, h("li", { class: "muted" }, t("orders.empty")));
      } else {
        replace(list, page.items.map((o, i) => {
          const badge = slaBadge(OPEN_STATES.includes(o.state) ? slas[i] : null);
          ticks.push(badge.tick);
          return h("li", {},
            h("a", { href: `#/orders/${o.id}`, class: "order-card", dataset: { order: o.number },
              "aria-label": t("orders.open", { number: o.number }) },
            h("div", { class: "row" }, h("b", { class: "number" }, o.number), priorityBadge(o.priority),
              stateBadge(o.state), h("span", { class: "spacer" }), badge.el),
            h("div", { class: "row" }, h("span", {}, label("type", o.type)), " · ",
              h("span", {}, o.customer_company), o.plate ? [" · ", h("span", {}, o.plate)] : null),
            o.address ? h("div", { class: "muted" }, o.address) : null,
            o.symptoms ? h("div", { class: "muted" }, o.symptoms) : null));
        }));
      }
      const to = Math.min(offset + page.items.length, page.total);
      replace(pager,
        h("span", {}, t("orders.page", { from: page.total ? offset + 1 : 0, to, total: page.total })),
        h("a", { class: `button${offset > 0 ? "" : " disabled"}`, "aria-disabled": offset <= 0,
          href: offset > 0 ? link({ ...(all ? { all: 1 } : {}), offset: Math.max(0, offset - PAGE) }) : undefined },
        t("orders.prev")),
        h("a", { class: `button${to < page.total ? "" : " disabled"}`, "aria-disabled": to >= page.total,
          href: to < page.total ? link({ ...(all ? { all: 1 } : {}), offset: offset + PAGE }) : undefined },
        t("orders.next")));
    } catch (exc) {
      replace(list, h("li", { class: "form-error" }, describe(exc)));
    }
  })();

  const timer = setInterval(() => ticks.forEach((tick) => tick()), 1000);
  return { el, leave: () => clearInterval(timer) };
}

function item(key, ...value) {
  const shown = value.flat().filter((v) => v !== null && v !== undefined && v !== "");
  return [h("dt", {}, t(key)), h("dd", {}, shown.length ? shown : t("order.none"))];
}

function mapsUrl(address) {
  return `geo:0,0?q=${encodeURIComponent(address)}`;
}

export function orderView(me, id) {
  const el = h("section", { class: "order", id: "order" }, h("p", { class: "muted" }, t("loading")));
  const ticks = [];
  let order = null;
  /** this order's changes waiting to be sent */
  let pending = [];
  /** kept across reloads: the old terminal's label after a swap */
  const ctx = { me, post: (...args) => post(...args), reload: () => load(), oldLabel: null };
  /** timers of the cards shown (the first-fix watch): cleared at each render and on leaving */
  let timers = [];
  ctx.later = (fn, ms) => timers.push(setTimeout(fn, ms));
  const clearTimers = () => { timers.forEach(clearTimeout); timers = []; };

  /** POST a field action or a transition with the order's version; a 409 reloads. With no
   * connection the change is queued (sent in order when the connection returns) and the
   * page shows the order as it will be. */
  async function post(path, body, form, general, target = null) {
    try {
      if (pending.length) throw new ApiError(0, "changes of this order wait to be sent");
      const result = await api(`/api/work-orders/${id}/${path}`, {
        method: "POST", json: { version: order.version, ...body },
      });
      return result;
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 0) {
        // behind changes already waiting, or offline: keep it, in order
        await enqueue({ orderId: id, orderNumber: order.number, path, target,
          json: { version: order.version, ...body }, label: queueLabel(path) });
        if (navigator.onLine) flush().then(() => load());
        await load();
        flash(t("queue.saved"), "warn");
        return QUEUED;
      }
      if (exc instanceof ApiError && exc.status === 409 && exc.body && "current_version" in exc.body) {
        await load();
        flash(t("order.conflict"), "warn");
        return null;
      }
      exc.userMessage = describe(exc);
      if (form) showErrors(form, exc, general);
      else flash(describe(exc), "error");
      return null;
    }
  }

  function checklistForm(o) {
    const boxes = ["tools", "spare_terminals", "sims", "documents"].map((name) => h("label", { class: "check" },
      h("input", { type: "checkbox", name, checked: Boolean(o.checklist?.[name]) }),
      h("span", {}, t(`order.checklist.${name}`))));
    const notes = h("textarea", { rows: 2 }, o.checklist?.notes || "");
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "card", id: "checklist" },
      h("h2", {}, t("order.checklist")),
      o.checklist_confirmed_at
        ? h("p", { class: "ok" }, t("order.checklist.confirmed", { at: formatDateTime(o.checklist_confirmed_at) }))
        : null,
      h("div", { class: "checks" }, boxes),
      field(t("order.checklist.notes"), notes, "notes"),
      h("button", { class: "primary" }, t("order.checklist.confirm")), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { notes: notes.value || null };
      for (const box of form.querySelectorAll("input[type=checkbox]")) body[box.name] = box.checked;
      const done = await post("checklist", body, form, error);
      if (done && done !== QUEUED) await load();
    });
    return form;
  }

  function reportForm(o) {
    const diagnosis = h("textarea", { rows: 3 }, o.diagnosis || "");
    const taken = h("textarea", { rows: 3 }, o.actions_taken || "");
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "card", id: "report" },
      h("h2", {}, t("order.report")),
      field(t("order.report.diagnosis"), diagnosis, "diagnosis"),
      field(t("order.report.actions_taken"), taken, "actions_taken"),
      h("button", { class: "primary" }, t("order.report.save")), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const saved = await post("report", {
        diagnosis: diagnosis.value || null, actions_taken: taken.value || null,
      }, form, error);
      if (saved && saved !== QUEUED) {
        await load();
        flash(t("order.report.saved"), "ok");
      }
    });
    return form;
  }

  function actionsCard(actions) {
    const note = h("textarea", { rows: 2 });
    const error = h("p", { class: "form-error", role: "alert" });
    // "assign" needs a technician picked: the dispatcher's board does that (not this page)
    const shown = actions.filter((a) => a.action !== "assign");
    const form = h("form", { class: "card", id: "actions" },
      h("h2", {}, t("order.actions")),
      shown.length === 0 ? h("p", { class: "muted" }, t("order.actions.none")) : null,
      h("div", { class: "action-list" }, shown.map((a) => h("div", { class: "action" },
        h("button", { type: "button", class: a.allowed ? "primary" : "", disabled: !a.allowed,
          dataset: { action: a.action },
          onClick: async () => {
            clearErrors(form);
            const done = await post(a.action, { note: note.value || null }, form, error, a.target);
            if (done && done !== QUEUED) {
              await load();
              flash(t("order.action.done", { action: label("action", a.action) }), "ok");
            }
          } }, label("action", a.action)),
        a.allowed ? null : h("ul", { class: "reasons" }, (a.refusals || []).map((r) => h("li", { dataset: { code: r.code } }, refusalText(r))))))),
      shown.some((a) => a.allowed) ? field(t("order.actions.note"), note, "note") : null,
      error);
    form.addEventListener("submit", (event) => event.preventDefault());
    return form;
  }

  function faultsCard(faults) {
    return h("div", { class: "card", id: "faults" },
      h("h2", {}, t("order.faults")),
      faults.length === 0 ? h("p", { class: "muted" }, t("order.faults.none")) : h("ul", {},
        faults.map((f) => h("li", {},
          h("b", {}, label("rule", f.rule)), " · ", t("order.fault.opened", { at: formatDateTime(f.opened_at) }),
          f.cleared_at ? [" · ", t("order.fault.cleared", { at: formatDateTime(f.cleared_at) })] : null,
          f.evidence?.observed ? h("div", { class: "muted evidence" },
            Object.entries(f.evidence.observed).map(([k, v]) => `${k.replaceAll("_", " ")}: ${
              typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ")) : null))));
  }

  function render(o, actions, faults, sla, history, work) {
    clearTimers();
    ctx.order = o;
    ctx.actions = actions;
    ctx.pending = pending;
    ctx.canWork = FIELD_ROLES.includes(me.role) && o.assignee_id === me.id;
    const badge = slaBadge(OPEN_STATES.includes(o.state) ? sla : null);
    ticks.length = 0;
    ticks.push(badge.tick);
    const copy = h("button", { type: "button", class: "small", id: "copy-address",
      onClick: async () => {
        try {
          await navigator.clipboard.writeText(o.address);
          copy.textContent = t("order.copied");
        } catch {
          // no clipboard (plain HTTP on a LAN address): select the text for a long-press copy
          window.getSelection().selectAllChildren(document.getElementById("address"));
        }
      } }, t("order.copy"));
    const fieldRole = FIELD_ROLES.includes(me.role);
    replace(el,
      h("a", { href: "#/orders", class: "back" }, `← ${t("order.back")}`),
      pending.length ? h("a", { class: "pending", id: "pending", href: "#/queue" },
        t("queue.pending_order", { n: pending.length,
          list: pending.map((p) => p.label).join(", ") })) : null,
      h("div", { class: "view-head" },
        h("h1", {}, o.number), priorityBadge(o.priority), stateBadge(o.state),
        h("span", {}, label("type", o.type)), h("span", { class: "spacer" }), badge.el),
      h("div", { class: "columns" },
        h("div", { class: "card" }, h("dl", {},
          item("order.customer", o.customer_company),
          [h("dt", {}, t("order.address")), h("dd", {}, o.address
            ? [h("span", { id: "address" }, o.address), " ", copy, " ",
              h("a", { class: "button small", href: mapsUrl(o.address), id: "maps" }, t("order.maps"))]
            : t("order.none"))],
          item("order.contact", o.contact_name, o.contact_phone
            ? [" ", h("a", { class: "button small", href: `tel:${o.contact_phone.replace(/[^+\d]/g, "")}`,
              id: "call" }, t("order.call", { phone: o.contact_phone }))] : null),
          item("order.vehicle", o.plate),
          item("order.terminal", o.terminal_id),
          item("order.model", o.terminal_model),
          item("order.purchase_date", o.purchase_date ? formatDate(o.purchase_date) : null),
          item("order.scheduled", o.scheduled_for ? formatDateTime(o.scheduled_for) : null),
          item("order.assignee", o.assignee_username),
          item("order.symptoms", o.symptoms),
          item("order.suggested", o.suggested_action),
          item("order.description", o.description))),
        h("div", {},
          actionsCard(actions),
          fieldRole && o.state === "assigned" ? checklistForm(o) : null,
          fieldRole && o.state === "on_site" ? reportForm(o) : null,
          !(fieldRole && o.state === "on_site") && (o.diagnosis || o.actions_taken)
            ? h("div", { class: "card" }, h("h2", {}, t("order.report")), h("dl", {},
              item("order.report.diagnosis", o.diagnosis),
              item("order.report.actions_taken", o.actions_taken))) : null,
          installCards(ctx),
          swapsCard(ctx, work.swaps, work.terminal),
          o.type === "repair" ? partsCard(ctx, work.uses, work.catalogue) : null,
          chargeCard(ctx, work.charge),
          photosCard(ctx, work.attachments),
          signatureCard(ctx, work.attachments),
          faultsCard(faults),
          h("div", { class: "card", id: "history" }, h("h2", {}, t("order.history")), h("ul", {},
            history.map((tr) => h("li", {}, t("order.history.line", {
              at: formatDateTime(tr.at), actor: tr.actor_name, from: label("state", tr.from_state),
              to: label("state", tr.to_state),
            }), tr.note ? h("div", { class: "muted" }, tr.note) : null)))))));
  }

  async function load() {
    try {
      pending = await pendingFor(id).catch(() => []);
      const [fresh, serverActions, faults, sla, history] = await Promise.all([
        api(`/api/work-orders/${id}`),
        api(`/api/work-orders/${id}/actions`),
        api(`/api/work-orders/${id}/faults`),
        api(`/api/work-orders/${id}/sla`).catch(() => null),
        api(`/api/work-orders/${id}/transitions`),
      ]);
      order = fresh;
      const o = applyPending(fresh, pending);
      let actions = serverActions;
      if (pending.length && FIELD_ROLES.includes(me.role)) {
        const next = FLOW[o.state];
        actions = next ? [{ action: next[0], target: next[1], allowed: true, reasons: [], refusals: [],
          summary: "" }] : [];
      }
      const work = await loadFieldWork(o);
      render(o, actions, faults, sla, history, work);
    } catch (exc) {
      replace(el, h("a", { href: "#/orders", class: "back" }, `← ${t("order.back")}`),
        h("p", { class: "form-error" }, describe(exc)));
    }
  }

  load();
  const timer = setInterval(() => ticks.forEach((tick) => tick()), 1000);
  return { el, leave: () => { clearInterval(timer); clearTimers(); } };
}
