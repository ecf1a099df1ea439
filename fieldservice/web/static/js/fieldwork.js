// On-site work on one order: terminal and SIM swaps, parts used, the charge and the payment,
// photos and the customer's signature. Each card reads through the API; the forms appear only
// for the order's assignee in the states the API admits, and every change carries the
// order's (or the charge's) version.
import { api, ApiError, token } from "./api.js";
import { enqueue, flush } from "./queue.js";
import { clearErrors, field, h, showErrors } from "./dom.js";
import { formatDateTime, formatMoney, label, t } from "./i18n.js";
import { describe, flash, QUEUED, queueLabel } from "./ui.js";

const METHODS = ["cash", "card", "bank_transfer", "mobile"];

// Every card takes ``ctx``: {order, me, canWork (the caller is the assignee),
// post(path, body, form, error) (sends the order's version, reloads on a conflict), reload()}.

function formWith(id, title, children, onSubmit, submitLabel) {
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "card", id }, h("h2", {}, title), children,
    h("button", { class: "primary" }, submitLabel), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    await onSubmit(form, error);
  });
  return form;
}

function input(attrs = {}) {
  return h("input", { autocomplete: "off", ...attrs });
}

export function swapsCard(ctx, swaps, terminal) {
  const { order, canWork } = ctx;
  const onSite = order.type === "repair" && order.state === "on_site";
  const list = h("div", { class: "card", id: "swaps" },
    h("h2", {}, t("swap.title")),
    swaps.length === 0 ? h("p", { class: "muted" }, t("swap.none")) : h("ul", {},
      swaps.map((s) => h("li", {},
        h("b", {}, label("swapkind", s.kind)), ": ", h("code", {}, s.old), " → ", h("code", {}, s.new),
        h("div", { class: "muted" }, `${formatDateTime(s.at)} · ${s.by}${s.reason ? ` · ${s.reason}` : ""}`)))),
    ctx.oldLabel ? h("div", { class: "fault-label", id: "old-label" },
      h("div", { class: "muted" }, t("swap.label")), h("b", {}, ctx.oldLabel)) : null);
  if (!(canWork && onSite)) return [list];

  const newTid = input({ required: true, inputmode: "numeric" });
  const newModel = input();
  const newIccid = input({ inputmode: "numeric" });
  const reason = h("textarea", { rows: 2 });
  const oldTid = order.terminal_id;
  const terminalForm = oldTid ? formWith("terminal-swap", t("swap.terminal"), [
    h("p", {}, t("swap.old_terminal"), " ", h("code", {}, oldTid)),
    field(t("swap.new_terminal"), newTid, "new_terminal_id"),
    field(t("swap.new_model"), newModel, "new_model"),
    field(t("swap.new_iccid"), newIccid, "new_iccid"),
    field(t("swap.reason"), reason, "reason"),
  ], async (form, error) => {
    const done = await ctx.post("terminal-swap", {
      old_terminal_id: oldTid, new_terminal_id: newTid.value.trim(),
      new_model: newModel.value.trim() || null, new_iccid: newIccid.value.trim() || null,
      reason: reason.value.trim() || null,
    }, form, error);
    if (done && done !== QUEUED) {
      // the old terminal's label, as the server wrote it: plate, symptom, date, order
      const old = await api(`/api/terminals/${encodeURIComponent(oldTid)}`).catch(() => null);
      ctx.oldLabel = old?.fault_label || null;
      await ctx.reload();
      flash(t("swap.done", { old: oldTid, new: newTid.value.trim() }), "ok");
    }
  }, t("swap.terminal.submit")) : null;

  const oldIccid = terminal?.iccid;
  const newSim = input({ required: true, inputmode: "numeric" });
  const msisdn = input({ inputmode: "tel" });
  const carrier = input();
  const oldState = h("select", {}, ["faulty", "in_stock", "deactivated"].map(
    (s) => h("option", { value: s }, label("simstate", s))));
  const simReason = h("textarea", { rows: 2 });
  const simForm = oldIccid ? formWith("sim-swap", t("swap.sim"), [
    h("p", {}, t("swap.old_sim"), " ", h("code", {}, oldIccid)),
    field(t("swap.new_sim"), newSim, "new_iccid"),
    field(t("swap.msisdn"), msisdn, "msisdn"),
    field(t("swap.carrier"), carrier, "carrier"),
    field(t("swap.old_sim_state"), oldState, "old_sim_state"),
    field(t("swap.reason"), simReason, "reason"),
  ], async (form, error) => {
    const done = await ctx.post("sim-swap", {
      old_iccid: oldIccid, new_iccid: newSim.value.trim(), msisdn: msisdn.value.trim() || null,
      carrier: carrier.value.trim() || null, old_sim_state: oldState.value,
      reason: simReason.value.trim() || null,
    }, form, error);
    if (done && done !== QUEUED) {
      await ctx.reload();
      flash(t("swap.done", { old: oldIccid, new: newSim.value.trim() }), "ok");
    }
  }, t("swap.sim.submit")) : null;
  return [list, terminalForm, simForm];
}

export function partsCard(ctx, uses, catalogue) {
  const { order, canWork } = ctx;
  const live = uses.filter((u) => !u.voided);
  const editable = canWork && order.type === "repair" && order.state === "on_site";
  const rows = uses.map((u) => h("tr", { class: u.voided ? "voided" : "" },
    h("td", {}, u.part_name, h("div", { class: "muted" }, u.part_code)),
    h("td", { class: "num" }, u.quantity),
    h("td", { class: "num" }, formatMoney(u.unit_price, u.currency)),
    h("td", { class: "num" }, formatMoney(u.amount, u.currency)),
    h("td", {}, u.voided ? t("parts.voided", { reason: u.void_reason || "" })
      : editable ? h("button", { type: "button", class: "small", dataset: { void: u.id },
        onClick: async () => {
          const why = window.prompt(t("parts.void.reason"));
          if (!why) return;
          try {
            await api(`/api/work-orders/${order.id}/parts/${u.id}/void`, {
              method: "POST", json: { version: order.version, reason: why } });
            await ctx.reload();
          } catch (exc) {
            if (exc instanceof ApiError && exc.status === 409) await ctx.reload();
            flash(describe(exc), "error");
          }
        } }, t("parts.void")) : null)));
  const table = h("div", { class: "card", id: "parts" }, h("h2", {}, t("parts.title")),
    uses.length === 0 ? h("p", { class: "muted" }, t("parts.none")) : h("div", { class: "wide" },
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("parts.part")),
        h("th", { class: "num" }, t("parts.quantity")), h("th", { class: "num" }, t("parts.unit_price")),
        h("th", { class: "num" }, t("parts.amount")), h("th", {}))), h("tbody", {}, rows))),
    live.length ? h("p", { class: "total" }, t("parts.total", {
      total: formatMoney(live.reduce((sum, u) => sum + Number(u.amount), 0), live[0].currency) }))
      : null);
  if (!editable) return [table];
  const part = h("select", { required: true }, h("option", { value: "" }, t("parts.choose")),
    catalogue.filter((p) => p.active && p.unit_price !== null).map((p) => h("option", { value: p.code },
      `${p.name} (${p.code}) · ${formatMoney(p.unit_price, p.currency)}`)));
  const quantity = input({ type: "number", min: 1, max: 1000, value: 1, required: true });
  const form = formWith("part-use", t("parts.add"), [
    field(t("parts.part"), part, "part_code"), field(t("parts.quantity"), quantity, "quantity"),
  ], async (f, error) => {
    const done = await ctx.post("parts", { part_code: part.value, quantity: Number(quantity.value) }, f, error);
    if (done && done !== QUEUED) await ctx.reload();
  }, t("parts.add.submit"));
  return [table, form];
}

export function chargeCard(ctx, charge) {
  const { order, canWork } = ctx;
  if (!charge) return [];
  const free = charge.in_warranty || Number(charge.total) === 0;
  const info = h("div", { class: "card", id: "charge" }, h("h2", {}, t(charge.state === "quote" ? "charge.quote" : "charge.title")),
    h("dl", {},
      h("dt", {}, t("charge.warranty")),
      h("dd", {}, charge.in_warranty ? t("charge.in_warranty", { until: charge.warranty_until || "" })
        : t("charge.out_of_warranty")),
      h("dt", {}, t("charge.parts")), h("dd", {}, formatMoney(charge.parts_value, charge.currency)),
      h("dt", {}, t("charge.total")), h("dd", { class: "total", id: "charge-total" }, free
        ? t("charge.free") : formatMoney(charge.total, charge.currency)),
      charge.amount !== null && charge.amount !== undefined ? [
        h("dt", {}, t("charge.collected")),
        h("dd", {}, `${formatMoney(charge.amount, charge.currency)} · ${label("method", charge.method)} · ${
          t("charge.invoice", { number: charge.invoice_number })} · ${formatDateTime(charge.collected_at)}`),
      ] : null,
      charge.confirmed_at ? [h("dt", {}, t("charge.confirmed")),
        h("dd", {}, `${formatDateTime(charge.confirmed_at)} · ${charge.confirmed_by}`)] : null));
  if (!(canWork && charge.state === "due")) return [info];
  const amount = input({ inputmode: "decimal", value: charge.total, required: true });
  const method = h("select", {}, METHODS.map((m) => h("option", { value: m }, label("method", m))));
  const invoice = input({ required: true });
  const form = formWith("payment", t("payment.title"), [
    field(t("payment.amount", { currency: charge.currency }), amount, "amount"),
    field(t("payment.method"), method, "method"),
    field(t("payment.invoice"), invoice, "invoice_number"),
  ], async (f, error) => {
    const json = { version: charge.version, amount: amount.value.trim(), method: method.value,
      invoice_number: invoice.value.trim() };
    try {
      // the payment carries the charge's version, not the order's
      await api(`/api/work-orders/${order.id}/payment`, { method: "POST", json });
      await ctx.reload();
      flash(t("payment.done"), "ok");
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 0) {
        await enqueue({ orderId: order.id, orderNumber: order.number, path: "payment", json,
          ownVersion: true, label: queueLabel("payment") });
        flash(t("queue.saved"), "warn");
        return;
      }
      if (exc instanceof ApiError && exc.status === 409) await ctx.reload();
      exc.userMessage = describe(exc);
      showErrors(f, exc, error);
    }
  }, t("payment.submit"));
  return [info, form];
}

/** An image the API serves with the bearer token (an <img src> cannot send it). */
function authImage(url, alt, cls) {
  const img = h("img", { alt, class: cls, loading: "lazy" });
  fetch(url, { headers: { Authorization: `Bearer ${token()}` } })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
    .then((blob) => { img.src = URL.createObjectURL(blob); })
    .catch(() => { img.alt = `${alt} (${t("photos.unavailable")})`; });
  return img;
}

async function upload(ctx, path, fields, file, form, error) {
  const body = new FormData();
  body.append("version", String(ctx.order.version));
  for (const [k, v] of Object.entries(fields)) if (v) body.append(k, v);
  body.append("file", file, file.name || "image");
  let response;
  const keep = async () => {
    // no connection (or changes of this order already waiting): the image waits in the
    // queue, as a Blob in IndexedDB, and is sent in order with the rest
    await enqueue({ orderId: ctx.order.id, orderNumber: ctx.order.number, path,
      json: { version: ctx.order.version }, form: { fields }, blob: file,
      filename: file.name || "image", label: queueLabel(path) });
    if (navigator.onLine) flush().then(() => ctx.reload());
    await ctx.reload();
    flash(t("queue.saved"), "warn");
    return QUEUED;
  };
  if (ctx.pending?.length) return keep();
  try {
    response = await fetch(`/api/work-orders/${ctx.order.id}/${path}`, {
      method: "POST", body, headers: { Authorization: `Bearer ${token()}` } });
  } catch {
    return keep();
  }
  if (response.ok) return true;
  const data = await response.json().catch(() => ({}));
  const exc = new ApiError(response.status, typeof data.detail === "string" ? data.detail
    : response.statusText, data);
  if (response.status === 409 && "current_version" in data) {
    await ctx.reload();
    flash(t("order.conflict"), "warn");
    return false;
  }
  exc.userMessage = describe(exc);
  showErrors(form, exc, error);
  return false;
}

export function photosCard(ctx, attachments) {
  const { order, canWork } = ctx;
  const photos = attachments.filter((a) => a.kind === "photo");
  const gallery = h("div", { class: "card", id: "photos" }, h("h2", {}, t("photos.title")),
    photos.length === 0 ? h("p", { class: "muted" }, t("photos.none")) : h("div", { class: "gallery" },
      photos.map((p) => h("figure", {}, authImage(p.url, p.caption || t("photos.title"), "thumb"),
        h("figcaption", {}, p.caption || "", h("div", { class: "muted" },
          `${formatDateTime(p.created_at)} · ${p.created_by}`))))));
  if (!(canWork && ["on_site", "completed"].includes(order.state))) return [gallery];
  const file = input({ type: "file", accept: "image/*", capture: "environment", required: true });
  const caption = input();
  const form = formWith("photo-form", t("photos.add"), [
    field(t("photos.file"), file, "file"), field(t("photos.caption"), caption, "caption"),
  ], async (f, error) => {
    if (!file.files.length) return;
    const done = await upload(ctx, "photos", { caption: caption.value.trim() }, file.files[0], f, error);
    if (done && done !== QUEUED) {
      await ctx.reload();
      flash(t("photos.done"), "ok");
    }
  }, t("photos.submit"));
  return [gallery, form];
}

/** A drawing pad: pointer events (finger, stylus, mouse), a PNG when saved. */
function signaturePad() {
  const canvas = h("canvas", { class: "pad", width: 600, height: 220, "aria-label": t("signature.pad") });
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.lineWidth = 3;
  g.lineCap = "round";
  g.strokeStyle = "#111";
  let drawing = false;
  let strokes = 0;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    strokes += 1;
    canvas.setPointerCapture(e.pointerId);
    g.beginPath();
    g.moveTo(...at(e));
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    g.lineTo(...at(e));
    g.stroke();
  });
  const end = () => { drawing = false; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  return {
    canvas,
    empty: () => strokes === 0,
    clear: () => {
      g.fillStyle = "#fff";
      g.fillRect(0, 0, canvas.width, canvas.height);
      strokes = 0;
    },
    png: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
  };
}

export function signatureCard(ctx, attachments) {
  const { order, canWork } = ctx;
  const signed = attachments.filter((a) => a.kind === "signature");
  const shown = h("div", { class: "card", id: "signature" }, h("h2", {}, t("signature.title")),
    signed.length === 0 ? h("p", { class: "muted" }, t("signature.none")) : signed.map((s) => h("figure", {},
      authImage(s.url, t("signature.of", { name: s.signed_by }), "signature-image"),
      h("figcaption", {}, t("signature.by", { name: s.signed_by, at: formatDateTime(s.created_at) })))));
  if (!(canWork && ["on_site", "completed"].includes(order.state))) return [shown];
  const pad = signaturePad();
  const name = input({ required: true, autocomplete: "name" });
  const form = formWith("signature-form", t("signature.take"), [
    h("div", { class: "pad-wrap" }, pad.canvas),
    h("button", { type: "button", class: "small", onClick: () => pad.clear() }, t("signature.clear")),
    field(t("signature.name"), name, "signed_by"),
  ], async (f, error) => {
    if (pad.empty()) {
      error.textContent = t("signature.empty");
      return;
    }
    const blob = await pad.png();
    const file = new File([blob], "signature.png", { type: "image/png" });
    const done = await upload(ctx, "signature", { signed_by: name.value.trim() }, file, f, error);
    if (done && done !== QUEUED) {
      await ctx.reload();
      flash(t("signature.done"), "ok");
    }
  }, t("signature.submit"));
  return [shown, form];
}

export async function loadFieldWork(order) {
  const id = order.id;
  const soft = (p) => p.catch(() => null);
  const [swaps, uses, charge, attachments, terminal, catalogue] = await Promise.all([
    soft(api(`/api/work-orders/${id}/swaps`)),
    order.type === "repair" ? soft(api(`/api/work-orders/${id}/parts`)) : null,
    order.type === "repair" ? soft(api(`/api/work-orders/${id}/charge`)) : null,
    soft(api(`/api/work-orders/${id}/attachments`)),
    order.terminal_id ? soft(api(`/api/terminals/${encodeURIComponent(order.terminal_id)}`)) : null,
    order.type === "repair" && order.state === "on_site"
      ? soft(api("/api/parts", { query: { active: true, limit: 500 } })) : null,
  ]);
  return { swaps: swaps || [], uses: uses?.lines || [], charge, attachments: attachments || [],
    terminal, catalogue: catalogue?.items || [] };
}
