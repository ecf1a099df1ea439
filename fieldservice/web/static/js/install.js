// An installer on site: the terminal and SIM fitted to the vehicle (typed, scanned where the
// browser can read barcodes, or taken from the terminals already reporting unregistered), then
// the install verified by the terminal's first fix, which the page watches for by itself.
import { api } from "./api.js";
import { field, h, replace } from "./dom.js";
import { formatDateTime, t } from "./i18n.js";
import { flash, paged, QUEUED } from "./ui.js";

/** How often the page asks whether the first fix has arrived. */
const WATCH_MS = 3000;

function input(attrs = {}) {
  return h("input", { autocomplete: "off", ...attrs });
}

/** A "Scan" button for an input, where the browser has a barcode reader (BarcodeDetector and
 * a camera); typed entry always works. */
function scanButton(target) {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return null;
  return h("button", { type: "button", class: "small", onClick: async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const video = h("video", { playsinline: true, muted: true });
      video.srcObject = stream;
      await video.play();
      // not in every browser, nor in TypeScript's DOM types yet
      const detector = new (/** @type {any} */ (window).BarcodeDetector)();
      for (let i = 0; i < 100; i += 1) {
        const codes = await detector.detect(video);
        if (codes.length) {
          target.value = codes[0].rawValue.trim();
          return;
        }
        await new Promise((r) => setTimeout(r, 150));
      }
      flash(t("install.scan.none"), "warn");
    } catch (exc) {
      flash(t("install.scan.failed", { reason: String(exc) }), "error");
    } finally {
      stream?.getTracks().forEach((track) => track.stop());
    }
  } }, t("install.scan"));
}

/** The terminals reporting without being registered, most recent first, a page at a time. */
function unknownList(onPick) {
  return h("div", { class: "card", id: "unregistered" },
    h("h2", {}, t("install.unregistered")),
    paged("unregistered", 10, (limit, offset) => api("/api/fleet/unknown-terminals",
      { query: { limit, offset } }), (page) => (page.items.length === 0
      ? h("p", { class: "muted" }, t("install.unregistered.none")) : h("ul", { class: "picks" },
        page.items.map((u) => h("li", {},
          h("div", {}, h("code", {}, u.terminal_id), h("div", { class: "muted" },
            t("install.unregistered.seen", { at: formatDateTime(u.last_seen_at), n: u.message_count,
              transport: u.transport }))),
          h("button", { type: "button", class: "small", dataset: { pick: u.terminal_id },
            onClick: () => onPick(u.terminal_id) }, t("install.use"))))))));
}

/** The first-fix check of a registered install: asks the API every few seconds whether
 * "complete" is allowed (the server's own rule: a valid fix received since registration). */
function firstFixWatch(ctx) {
  const { order } = ctx;
  const box = h("div", { class: "card", id: "first-fix" }, h("h2", {}, t("install.verify")),
    h("p", { class: "muted" }, t("install.waiting", { terminal: order.terminal_id })));
  let stopped = false;
  // the page was rendered with complete allowed already: show the fix, reload nothing
  const first = ctx.actions?.find((a) => a.action === "complete")?.allowed ? ctx.actions : null;
  const check = async () => {
    if (stopped) return;
    try {
      const actions = first || await api(`/api/work-orders/${order.id}/actions`);
      const complete = actions.find((a) => a.action === "complete");
      if (complete?.allowed) {
        const latest = await api(`/api/fleet/terminals/${encodeURIComponent(order.terminal_id)}`)
          .catch(() => null);
        const fix = latest?.last_fix;
        replace(box, h("h2", {}, t("install.verify")), h("p", { class: "ok verified" },
          t("install.verified", { at: formatDateTime(fix?.time),
            position: fix ? `${fix.lat.toFixed(5)}, ${fix.lon.toFixed(5)}` : t("order.none") })));
        stopped = true;
        if (!first) ctx.reload(); // the complete button is offered now
        return;
      }
    } catch {
      // offline or the server busy: the next round tries again
    }
    if (!stopped) ctx.later(check, WATCH_MS);
  };
  ctx.later(check, 0);
  return box;
}

export function installCards(ctx) {
  const { order, canWork } = ctx;
  if (order.type !== "install") return [];
  const registered = Boolean(order.registered_at && order.terminal_id);
  const cards = [];
  if (registered && ["on_site"].includes(order.state)) cards.push(firstFixWatch(ctx));
  if (registered) {
    cards.push(h("div", { class: "card", id: "registered" }, h("h2", {}, t("install.registered")),
      h("p", {}, h("code", {}, order.terminal_id), " · ", formatDateTime(order.registered_at))));
  }
  if (!(canWork && order.state === "on_site")) return cards;

  const terminal = input({ required: true, inputmode: "numeric" });
  const iccid = input({ required: true, inputmode: "numeric" });
  const model = input({ value: order.terminal_model || "" });
  const msisdn = input({ inputmode: "tel" });
  const carrier = input();
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card", id: "register" },
    h("h2", {}, registered ? t("install.correct") : t("install.register")),
    h("div", { class: "with-button" }, field(t("install.terminal"), terminal, "terminal_id"),
      scanButton(terminal)),
    h("div", { class: "with-button" }, field(t("install.iccid"), iccid, "iccid"), scanButton(iccid)),
    field(t("install.model"), model, "model"),
    field(t("swap.msisdn"), msisdn, "msisdn"),
    field(t("swap.carrier"), carrier, "carrier"),
    h("button", { class: "primary" }, t("install.submit")), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await ctx.post("register-terminal", {
      terminal_id: terminal.value.trim(), iccid: iccid.value.trim(),
      model: model.value.trim() || null, msisdn: msisdn.value.trim() || null,
      carrier: carrier.value.trim() || null,
    }, form, error);
    if (done && done !== QUEUED) {
      await ctx.reload();
      flash(t("install.done", { terminal: terminal.value.trim() }), "ok");
    }
  });
  cards.push(form, unknownList((tid) => {
    terminal.value = tid;
    terminal.focus();
  }));
  return cards;
}
