// The office's screens: the manager's approvals, escalation decisions and reports; finance's
// payments to confirm and the billing report; the tester's view of the simulated fleet.
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { formatDateTime, formatMoney, label, t } from "./i18n.js";
import { async, describe, flash, paged } from "./ui.js";

function section(id, title, body) {
  return h("div", { class: "card", id }, h("h2", {}, title), body);
}


function table(headers, rows, cls = "") {
  return h("div", { class: "wide" }, h("table", { class: cls },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { class: x.num ? "num" : "" }, x.text ?? x)))),
    h("tbody", {}, rows)));
}

// --- manager -------------------------------------------------------------------------------

function approvals(refresh) {
  return paged("approvals", 20, (limit, offset) => api("/api/work-orders", {
    query: { state: "awaiting_approval", sort: "priority", limit, offset } }), (page) => {
    if (!page.items.length) return h("p", { class: "muted" }, t("manage.approvals.none"));
    return h("ul", { class: "approvals" }, page.items.map((o) => {
      const note = h("input", { "aria-label": t("manage.reject.note", { number: o.number }),
        placeholder: t("manage.reject.placeholder") });
      const decide = async (action) => {
        if (action === "reject" && !note.value.trim()) {
          flash(t("manage.reject.needs_note"), "warn");
          note.focus();
          return;
        }
        try {
          await api(`/api/work-orders/${o.id}/${action}`, { method: "POST",
            json: { version: o.version, note: note.value.trim() || null } });
          flash(t(action === "approve" ? "manage.approved" : "manage.rejected",
            { number: o.number }), "ok");
        } catch (exc) {
          flash(describe(exc), "error");
        }
        refresh();
      };
      return h("li", { dataset: { order: o.number } },
        h("div", { class: "row" }, h("a", { href: `#/orders/${o.id}` }, h("b", {}, o.number)),
          o.priority === "urgent" ? h("span", { class: "badge urgent" }, label("priority", o.priority)) : null,
          h("span", {}, `${label("type", o.type)} · ${o.customer_company}${o.plate ? ` · ${o.plate}` : ""}`)),
        h("div", { class: "muted" }, o.symptoms || o.description || o.address || ""),
        h("div", { class: "row" }, note,
          h("button", { type: "button", class: "small primary", onClick: () => decide("approve") },
            t("action.approve")),
          h("button", { type: "button", class: "small", onClick: () => decide("reject") },
            t("action.reject"))));
    }));
  });
}

function escalationForm(e, contractors, affiliations, refresh) {
  const decision = h("select", { "aria-label": t("manage.decision") },
    ["internal", "contractor", "other_department"].map((d) => h("option", { value: d }, label("decision", d))));
  const contractor = h("select", { "aria-label": t("manage.contractor") },
    h("option", { value: "" }, "—"), contractors.map((c) => h("option", { value: c.id }, c.name)));
  const assignee = h("select", { "aria-label": t("manage.assignee") },
    h("option", { value: "" }, "—"), affiliations.map((a) => h("option", { value: a.user_id },
      `${a.username} · ${a.contractor_name || a.department || ""}`)));
  const note = h("input", { "aria-label": t("manage.note"), placeholder: t("manage.note") });
  return h("li", { dataset: { escalation: e.id } },
    h("div", { class: "row" }, h("a", { href: `#/orders/${e.work_order_id}` }, h("b", {}, e.work_order_number)),
      h("span", {}, `${label("escalation", e.reason)} · ${e.detail}`)),
    h("div", { class: "muted" }, `${formatDateTime(e.raised_at)} · ${e.raised_by}`),
    h("div", { class: "row" }, decision, contractor, assignee, note,
      h("button", { type: "button", class: "small primary", onClick: async () => {
        try {
          await api(`/api/escalations/${e.id}/decide`, { method: "POST", json: {
            version: e.version, decision: decision.value,
            contractor_id: contractor.value ? Number(contractor.value) : null,
            assignee_id: assignee.value ? Number(assignee.value) : null,
            note: note.value.trim() || null } });
          flash(t("manage.decided", { number: e.work_order_number }), "ok");
          refresh();
        } catch (exc) {
          flash(describe(exc), "error");
        }
      } }, t("manage.decide"))));
}

function escalations(refresh) {
  // the choices of a decision, read once per drawing of the list
  const choices = Promise.all([
    api("/api/contractors").catch(() => []),
    api("/api/staff-affiliations", { query: { limit: 200 } }).catch(() => ({ items: [] })),
  ]);
  let people = [[], []];
  return paged("escalations", 20, async (limit, offset) => {
    const [contractors, affiliations] = await choices;
    people = [Array.isArray(contractors) ? contractors : contractors.items || [], affiliations.items];
    return api("/api/escalations", { query: { state: "open", limit, offset } });
  }, (page) => (page.items.length
    ? h("ul", { class: "approvals" }, page.items.map((e) => escalationForm(e, people[0], people[1], refresh)))
    : h("p", { class: "muted" }, t("manage.escalations.none"))));
}

function quarterOf(date) {
  return { year: date.getFullYear(), quarter: Math.floor(date.getMonth() / 3) + 1 };
}

function complaintReport() {
  const box = h("div", {});
  const { year, quarter } = quarterOf(new Date());
  const y = h("input", { type: "number", min: 2000, max: 2999, value: year, "aria-label": t("manage.year") });
  const q = h("select", { "aria-label": t("manage.quarter") },
    [1, 2, 3, 4].map((n) => h("option", { value: n, selected: n === quarter }, `Q${n}`)));
  const show = () => async(box, () => api("/api/complaints/report",
    { query: { year: y.value, quarter: q.value } }), (r) => h("div", {},
    h("p", {}, t("manage.complaints.total", { n: r.total })),
    r.causes.length ? table([t("manage.cause"), { text: t("manage.count"), num: true },
      { text: t("manage.open"), num: true }, t("manage.corrective")],
    r.causes.map((c) => h("tr", {}, h("td", {}, label("cause", c.cause)),
      h("td", { class: "num" }, c.complaints), h("td", { class: "num" }, c.open),
      h("td", {}, c.corrective_actions.map((a) => `${a.complaint}: ${a.action}`).join("; ")))))
      : null));
  const el = h("div", {}, h("div", { class: "row" }, y, q,
    h("button", { type: "button", class: "small", onClick: show }, t("manage.show"))), box);
  show();
  return el;
}

function satisfaction() {
  const box = h("div", {});
  return async(box, () => api("/api/return-visits/report", { query: { group_by: "month" } }),
    (r) => h("div", {},
      h("p", {}, t("manage.visits", { n: r.visits, average: r.average ?? "—" })),
      r.groups.length ? table([t("manage.month"), { text: t("manage.visits.count"), num: true },
        { text: t("manage.average"), num: true }],
      r.groups.map((g) => h("tr", {}, h("td", {}, g.key), h("td", { class: "num" }, g.visits),
        h("td", { class: "num" }, g.average)))) : null));
}

function faultReports() {
  const box = h("div", {});
  return async(box, () => api("/api/fault-reports", { query: { limit: 20 } }), (page) => (
    page.items.length ? table([t("manage.report"), t("manage.occurred"), t("manage.symptom"),
      t("manage.state")], page.items.map((r) => h("tr", {}, h("td", {}, r.number),
      h("td", {}, formatDateTime(r.occurred_at)), h("td", {}, r.symptom),
      h("td", {}, label("reportstate", r.state)))))
      : h("p", { class: "muted" }, t("manage.fault_reports.none"))));
}

export function managerView() {
  const el = h("section", { class: "office", id: "manage" });
  const draw = () => replace(el,
    h("div", { class: "view-head" }, h("h1", {}, t("manage.title"))),
    section("approvals", t("manage.approvals"), approvals(draw)),
    section("escalation-decisions", t("manage.escalations"), escalations(draw)),
    h("div", { class: "columns" },
      section("complaint-report", t("manage.complaints"), complaintReport()),
      section("satisfaction", t("manage.satisfaction"), satisfaction())),
    section("fault-reports", t("manage.fault_reports"), faultReports()));
  draw();
  return { el };
}

// --- finance -------------------------------------------------------------------------------

function toConfirm(refresh) {
  return paged("payments", 20, (limit, offset) => api("/api/payments",
    { query: { state: "collected", limit, offset } }), (page) => (
    page.items.length ? table([t("finance.order"), t("finance.collected_by"),
      { text: t("finance.amount"), num: true }, t("finance.method"), t("finance.invoice"), ""],
    page.items.map((c) => {
      const note = h("input", { "aria-label": t("finance.note", { number: c.work_order_number }) });
      return h("tr", { dataset: { charge: c.id } },
        h("td", {}, h("a", { href: `#/orders/${c.work_order_id}` }, c.work_order_number)),
        h("td", {}, `${c.collected_by} · ${formatDateTime(c.collected_at)}`),
        h("td", { class: "num" }, formatMoney(c.amount, c.currency)),
        h("td", {}, label("method", c.method)), h("td", {}, c.invoice_number),
        h("td", {}, note, h("button", { type: "button", class: "small primary", onClick: async () => {
          try {
            await api(`/api/payments/${c.id}/confirm`, { method: "POST",
              json: { version: c.version, note: note.value.trim() || null } });
            flash(t("finance.confirmed", { number: c.work_order_number }), "ok");
          } catch (exc) {
            flash(describe(exc), "error");
          }
          refresh();
        } }, t("finance.confirm"))));
    })) : h("p", { class: "muted" }, t("finance.none"))));
}

function billingReport() {
  const box = h("div", {});
  return async(box, () => api("/api/billing/report"), (r) => (r.currencies.length
    ? table([t("finance.currency"), { text: t("finance.charges"), num: true },
      { text: t("finance.charged"), num: true }, { text: t("finance.collected"), num: true },
      { text: t("finance.confirmed_total"), num: true }, { text: t("finance.uncollected"), num: true },
      { text: t("finance.awaiting"), num: true }],
    r.currencies.map((c) => h("tr", {}, h("td", {}, c.currency),
      h("td", { class: "num" }, `${c.charges} (${t("finance.free", { n: c.free })})`),
      ["charged", "collected", "confirmed", "uncollected", "awaiting_confirmation"].map(
        (k) => h("td", { class: "num" }, formatMoney(c[k], c.currency))))), "report")
    : h("p", { class: "muted" }, t("finance.report.none"))));
}

export function financeView() {
  const el = h("section", { class: "office", id: "finance" });
  const draw = () => replace(el,
    h("div", { class: "view-head" }, h("h1", {}, t("finance.title"))),
    section("to-confirm", t("finance.to_confirm"), toConfirm(draw)),
    section("billing", t("finance.billing"), billingReport()));
  draw();
  return { el };
}

// --- tester --------------------------------------------------------------------------------

export function testerView() {
  const fleet = h("div", {});
  const unknown = h("div", {});
  const el = h("section", { class: "office", id: "tester" },
    h("div", { class: "view-head" }, h("h1", {}, t("tester.title")),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "small", onClick: () => draw() }, t("tester.refresh"))),
    h("p", { class: "hint" }, t("tester.hint")),
    section("simulated", t("tester.fleet"), fleet),
    section("tester-unregistered", t("install.unregistered"), unknown));
  const draw = () => {
    replace(fleet, paged("tester-fleet", 50, (limit, offset) => api("/api/health/terminals",
      { query: { limit, offset } }), (page) => (
      page.items.length ? table([t("order.terminal"), t("tester.health"), t("tester.faults"),
        t("tester.last_seen"), t("tester.ticket")], page.items.map((x) => h("tr", { dataset: { terminal: x.terminal_id } },
        h("td", {}, x.terminal_id), h("td", {}, h("span", { class: `badge health-${x.health}` }, label("health", x.health))),
        h("td", {}, x.open_faults.map((r) => label("rule", r)).join(", ") || "—"),
        h("td", {}, formatDateTime(x.last_seen_at)),
        h("td", {}, x.ticket ? h("a", { href: `#/orders/${x.ticket.id}` }, x.ticket.number) : "—"))))
        : h("p", { class: "muted" }, t("tester.none")))));
    replace(unknown, paged("tester-unregistered", 20, (limit, offset) => api(
      "/api/fleet/unknown-terminals", { query: { limit, offset } }), (page) => (page.items.length
      ? table([t("order.terminal"), t("tester.transport"), t("tester.last_seen"),
        { text: t("tester.messages"), num: true }], page.items.map((u) => h("tr", {}, h("td", {}, u.terminal_id),
        h("td", {}, u.transport), h("td", {}, formatDateTime(u.last_seen_at)),
        h("td", { class: "num" }, u.message_count))))
      : h("p", { class: "muted" }, t("install.unregistered.none")))));
  };
  draw();
  return { el };
}
