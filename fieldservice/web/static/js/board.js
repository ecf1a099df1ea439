// The dispatcher's board: terminal health by state with the live feed (the API's Server-Sent
// Events, read with fetch so that the bearer token goes along; no polling loop), a map of the
// terminals' last positions and a terminal's track, the work orders by state with assignment
// (technicians with skills, zone and load), and the escalations waiting for the manager.
import { api, ApiError, token } from "./api.js";
import { h, replace } from "./dom.js";
import { formatDateTime, label, t } from "./i18n.js";
import { describe, flash } from "./ui.js";

const BOARD_STATES = ["new", "awaiting_approval", "approved", "assigned", "en_route", "on_site",
  "completed"];
const HEALTH = ["online", "offline", "no_fix", "degraded", "never_seen"];
const COLOURS = { online: "#1a7f37", offline: "#b42318", no_fix: "#9a6700", degraded: "#b35c00",
  never_seen: "#5b6475" };

/** Leaflet, loaded once and only for this board (the technicians' tablets never load it). */
let leaflet = null;
function loadLeaflet() {
  if (!leaflet) {
    leaflet = new Promise((resolve, reject) => {
      document.head.append(h("link", { rel: "stylesheet", href: "/static/vendor/leaflet/leaflet.css" }));
      const script = h("script", { src: "/static/vendor/leaflet/leaflet.js" });
      // leaflet.js is a classic script: it leaves its API on window.L
      script.onload = () => resolve(/** @type {any} */ (window).L);
      script.onerror = () => reject(new Error("leaflet.js did not load"));
      document.head.append(script);
    });
  }
  return leaflet;
}

/**
 * Server-Sent Events over fetch (EventSource cannot send an Authorization header): calls
 * ``onEvent(name, data)`` per event, reconnects after a drop with the last event id, until
 * ``signal`` aborts.
 */
async function readFeed(url, onEvent, onState, signal) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await fetch(url, { headers, signal });
      if (!response.ok) throw new ApiError(response.status, response.statusText);
      onState(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trim());
            else if (line.startsWith("id:")) lastId = line.slice(3).trim();
          }
          if (data.length) onEvent(name, JSON.parse(data.join("\n")));
        }
      }
    } catch (exc) {
      if (signal.aborted) return;
      if (exc instanceof ApiError && exc.status === 401) return;
    }
    onState(false);
    await new Promise((r) => setTimeout(r, 2000)); // the server's retry hint
  }
}

const COMMAND_KINDS = ["set_interval", "locate", "text", "reset", "raw"];

function healthCards(fleet) {
  return h("div", { class: "cards", id: "health" },
    HEALTH.map((s) => h("div", { class: `stat ${s}`, dataset: { health: s } },
      h("b", {}, fleet[s]), label("health", s))),
    h("div", { class: "stat" }, h("b", {}, fleet.unregistered), t("board.unregistered")),
    h("div", { class: "stat" }, h("b", {}, Object.values(fleet.open_faults_by_rule)
      .reduce((a, b) => a + b, 0)), t("board.open_faults")));
}

function technicianChoice(technicians, order) {
  const wanted = order.type === "repair" ? ["technician"] : ["technician", "installer"];
  return h("select", { "aria-label": t("board.assign_to", { number: order.number }),
    dataset: { order: order.id } },
    h("option", { value: "" }, t("board.choose")),
    technicians.filter((p) => wanted.includes(p.role) && p.active).map((p) => h("option", { value: p.id },
      `${p.full_name || p.username} · ${p.zone || "—"} · ${(p.skills || []).join(", ") || "—"} · ${
        t("board.load", { n: p.active_orders })}`)));
}

export function boardView(me) {
  const abort = new AbortController();
  const live = h("span", { class: "live", id: "live" }, t("board.connecting"));
  const cards = h("div", {}, t("loading"));
  const feed = h("ul", { class: "feed", id: "feed" });
  // until the first event: say what will appear here
  const quiet = h("p", { class: "muted", id: "feed-quiet" }, t("board.feed.quiet"));
  const mapBox = h("div", { class: "map", id: "map" });
  const trackForm = h("form", { class: "track-form", id: "track" });
  const orders = h("div", { class: "columns-board", id: "order-board" });
  const escalations = h("div", { class: "card", id: "escalations" });
  const commands = h("div", { class: "card", id: "commands" });
  let map = null;
  let markers = null;
  let trackLine = null;
  const canAssign = ["dispatcher", "manager"].includes(me.role);

  async function refreshHealth() {
    try {
      replace(cards, healthCards(await api("/api/health/fleet")));
    } catch (exc) {
      replace(cards, h("p", { class: "form-error" }, describe(exc)));
    }
  }

  let mapping = null;
  /** One refresh at a time: the feed may ask again while the map is being drawn. */
  function refreshMap() {
    mapping = (mapping || Promise.resolve()).then(drawMap, drawMap);
    return mapping;
  }

  async function drawMap() {
    const L = await loadLeaflet();
    const [fleet, health] = await Promise.all([api("/api/fleet/terminals"),
      api("/api/health/terminals", { query: { limit: 500 } })]);
    const state = Object.fromEntries(health.items.map((t0) => [t0.terminal_id, t0.health]));
    if (!map) {
      // a max zoom of its own: with no tile layer Leaflet has none, and fitting the bounds of
      // one point would zoom without end
      map = L.map(mapBox, { zoomControl: true, attributionControl: true, maxZoom: 18 });
      const meta = /** @type {HTMLMetaElement | null} */ (
        document.querySelector('meta[name="fieldgate-tiles"]'));
      const tiles = meta?.content;
      if (tiles) L.tileLayer(tiles, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
      markers = L.layerGroup().addTo(map);
    }
    markers.clearLayers();
    const points = [];
    for (const term of fleet.terminals) {
      if (!term.last_fix) continue;
      const where = [term.last_fix.lat, term.last_fix.lon];
      points.push(where);
      const health = state[term.terminal_id] || "online";
      // what binary-protocol terminals say about themselves: ignition and their alarms
      const said = [];
      if (term.acc !== null) said.push(t(term.acc ? "board.acc.on" : "board.acc.off"));
      for (const alarm of term.alarms) said.push(label("alarm", alarm));
      L.circleMarker(where, { radius: 8, color: COLOURS[health], fillOpacity: 0.8,
        className: `marker marker-${term.terminal_id}` })
        .bindTooltip([term.terminal_id, label("health", health),
          formatDateTime(term.last_fix.time), ...said].join(" · "))
        .on("click", () => {
          trackForm.elements.terminal.value = term.terminal_id;
          const form = commands.querySelector("form");
          if (form) form.elements.terminal.value = term.terminal_id;
        })
        .addTo(markers);
    }
    if (points.length) map.fitBounds(points, { padding: [30, 30], maxZoom: 15 });
    else map.setView([35, 105], 4);
    mapBox.dataset.markers = String(points.length);
  }

  async function showTrack(terminal, since, until) {
    const L = await loadLeaflet();
    const points = await api(`/api/fleet/terminals/${encodeURIComponent(terminal)}/track`,
      { query: { since: new Date(since).toISOString(), until: new Date(until).toISOString() } });
    if (trackLine) trackLine.remove();
    const line = points.map((p) => [p.lat, p.lon]);
    trackLine = L.polyline(line, { color: "#0b57d0", weight: 4, className: "track" }).addTo(map);
    mapBox.dataset.track = String(line.length);
    if (line.length) map.fitBounds(line, { padding: [30, 30], maxZoom: 16 });
    return line.length;
  }

  async function refreshOrders() {
    // the feed redraws the board at any moment: keep what the dispatcher is choosing
    const chosen = Object.fromEntries([...orders.querySelectorAll("select[data-order]")]
      .map((s) => [s.dataset.order, s.value]));
    try {
      const [pages, technicians] = await Promise.all([
        Promise.all(BOARD_STATES.map((s) => api("/api/work-orders",
          { query: { state: s, sort: "priority", limit: 20 } }))),
        canAssign ? api("/api/technicians") : [],
      ]);
      replace(orders, BOARD_STATES.map((s, i) => h("section", { class: "column", dataset: { state: s } },
        h("h3", {}, label("state", s), " ", h("span", { class: "count" }, pages[i].total)),
        pages[i].items.map((o) => h("div", { class: "mini" },
          h("a", { href: `#/orders/${o.id}` }, o.number),
          o.priority === "urgent" ? h("span", { class: "badge urgent" }, label("priority", o.priority)) : null,
          h("div", { class: "muted" }, `${label("type", o.type)} · ${o.customer_company}`),
          o.assignee_username ? h("div", { class: "muted" }, o.assignee_username) : null,
          canAssign && ["approved", "assigned"].includes(o.state) ? assignControl(o, technicians) : null)),
        pages[i].total > pages[i].items.length
          ? h("a", { href: "#/orders?all=1" }, t("board.more", { n: pages[i].total - pages[i].items.length }))
          : null)));
      for (const select of orders.querySelectorAll("select[data-order]")) {
        if (chosen[select.dataset.order]) select.value = chosen[select.dataset.order];
      }
    } catch (exc) {
      replace(orders, h("p", { class: "form-error" }, describe(exc)));
    }
  }

  function assignControl(order, technicians) {
    const choice = technicianChoice(technicians, order);
    return h("div", { class: "assign" }, choice,
      h("button", { type: "button", class: "small primary", onClick: async () => {
        if (!choice.value) return;
        try {
          await api(`/api/work-orders/${order.id}/assign`, { method: "POST",
            json: { version: order.version, assignee_id: Number(choice.value) } });
          flash(t("board.assigned", { number: order.number }), "ok");
          refreshOrders();
        } catch (exc) {
          flash(describe(exc), "error");
          refreshOrders();
        }
      } }, t("board.assign")));
  }

  async function refreshEscalations() {
    try {
      const page = await api("/api/escalations", { query: { state: "open", limit: 20 } });
      replace(escalations, h("h2", {}, t("board.escalations"), " ", h("span", { class: "count" }, page.total)),
        page.items.length === 0 ? h("p", { class: "muted" }, t("board.escalations.none")) : h("ul", {},
          page.items.map((e) => h("li", {}, h("a", { href: `#/orders/${e.work_order_id}` }, e.work_order_number),
            ` · ${label("escalation", e.reason)} · ${e.detail}`,
            h("div", { class: "muted" }, `${formatDateTime(e.raised_at)} · ${e.raised_by}`)))));
    } catch (exc) {
      replace(escalations, h("p", { class: "form-error" }, describe(exc)));
    }
  }

  /** JT/T 808 and GT06 terminals take commands: send one, and see each one's fate. */
  function commandPanel() {
    const log = h("ul", { class: "command-log", id: "command-log" });
    const value = h("input", { name: "value", "aria-label": t("command.value"),
      placeholder: t("command.value") });
    const kind = h("select", { name: "kind", "aria-label": t("command.kind") },
      COMMAND_KINDS.map((k) => h("option", { value: k }, label("command.kind", k))));
    const form = h("form", { class: "track-form", id: "command-form" },
      h("input", { name: "terminal", placeholder: t("board.track.terminal"),
        "aria-label": t("command.terminal"), required: true }),
      kind, value,
      h("button", { class: "primary small" }, t("command.send")),
      h("button", { type: "button", class: "small", onClick: () => showLog() },
        t("command.refresh")));
    const needsValue = () => {
      value.hidden = kind.value === "locate" || kind.value === "reset";
      value.type = kind.value === "set_interval" ? "number" : "text";
      value.placeholder = kind.value === "set_interval" ? t("command.seconds") : t("command.text");
    };
    kind.addEventListener("change", needsValue);
    needsValue();

    async function showLog() {
      const terminal = form.elements.terminal.value.trim();
      if (!terminal) return;
      try {
        const page = await api(`/api/terminals/${encodeURIComponent(terminal)}/commands`,
          { query: { limit: 10 } });
        replace(log, page.items.length === 0 ? h("li", { class: "muted" }, t("command.none"))
          : page.items.map((c) => h("li", { dataset: { state: c.state, id: c.id } },
            h("b", {}, label("command.kind", c.kind)),
            c.interval_s ? ` ${c.interval_s} s` : "", c.text ? ` «${c.text}»` : "",
            " ", h("span", { class: `badge command-${c.state}` }, label("command.state", c.state)),
            c.result ? h("span", { class: "muted" }, ` · ${c.result}`) : null,
            h("div", { class: "muted" }, `${formatDateTime(c.created_at)} · ${c.created_by}`))));
      } catch (exc) {
        replace(log, h("li", { class: "form-error" }, describe(exc)));
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const terminal = form.elements.terminal.value.trim();
      const body = { kind: kind.value };
      if (kind.value === "set_interval") body.interval_s = Number(value.value);
      if (kind.value === "text" || kind.value === "raw") body.text = value.value;
      try {
        const sent = await api(`/api/terminals/${encodeURIComponent(terminal)}/commands`,
          { method: "POST", json: body });
        flash(t("command.queued", { id: sent.id, terminal }), "ok");
        await showLog();
      } catch (exc) {
        flash(describe(exc), "error");
      }
    });
    replace(commands, h("h2", {}, t("command.title")), h("p", { class: "hint" }, t("command.hint")),
      form, log);
  }

  const now = Date.now();
  const local = (ms) => new Date(ms - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  replace(trackForm,
    h("input", { name: "terminal", placeholder: t("board.track.terminal"), "aria-label": t("board.track.terminal"), required: true }),
    h("input", { name: "since", type: "datetime-local", value: local(now - 3600e3), "aria-label": t("board.track.since") }),
    h("input", { name: "until", type: "datetime-local", value: local(now + 60e3), "aria-label": t("board.track.until") }),
    h("button", { class: "primary small" }, t("board.track.show")),
    h("span", { class: "muted", id: "track-count" }));
  trackForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = trackForm.elements;
    try {
      const n = await showTrack(f.terminal.value.trim(), f.since.value, f.until.value);
      trackForm.querySelector("#track-count").textContent = t("board.track.points", { n });
    } catch (exc) {
      flash(describe(exc), "error");
    }
  });

  const el = h("section", { class: "board" },
    h("div", { class: "view-head" }, h("h1", {}, t("board.title")), h("span", { class: "spacer" }), live),
    cards,
    h("div", { class: "board-grid" },
      h("div", { class: "card" }, h("h2", {}, t("board.map")), mapBox, trackForm),
      h("div", { class: "card" }, h("h2", {}, t("board.feed")), quiet, feed)),
    h("h2", {}, t("board.orders")), orders, escalations, canAssign ? commands : null);

  if (canAssign) commandPanel();

  refreshHealth();
  refreshOrders();
  refreshEscalations();
  // the map needs its box in the document to measure it
  requestAnimationFrame(() => refreshMap().catch((exc) => {
    replace(mapBox, h("p", { class: "form-error" }, describe(exc)));
  }));
  readFeed("/api/health/events/stream", (name, data) => {
    if (name === "fault_processed") {
      // the ticket consumer made a ticket of it (or added it to one): the order columns change
      refreshOrders();
      return;
    }
    quiet.remove();
    feed.prepend(h("li", { class: name }, h("b", {}, data.terminal_id), " · ",
      label("rule", data.rule), " · ", t(name === "fault_opened" ? "board.opened" : "board.cleared"),
      h("div", { class: "muted" }, formatDateTime(data.occurred_at))));
    while (feed.children.length > 30) feed.lastChild.remove();
    // the feed tells when something changed: only then are the counts and lists read again
    refreshHealth();
    refreshOrders();
    refreshMap().catch(() => {});
  }, (up) => {
    live.textContent = up ? t("board.live") : t("board.reconnecting");
    live.className = up ? "live up" : "live";
  }, abort.signal);

  return { el, leave: () => { abort.abort(); if (map) map.remove(); } };
}
