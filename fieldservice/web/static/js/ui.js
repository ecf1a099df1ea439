// Messages shared by every view.
import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { refusalText, t } from "./i18n.js";

/** Messages for errors that are not about one field. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String(error);
  if (error.status === 0) return t("error.network");
  // a refused step: its reasons in the user's language, not the server's English sentence
  const refusals = error.body?.refusals;
  if (Array.isArray(refusals) && refusals.length) return refusals.map(refusalText).join(" ");
  // a bad field: the fields' problems in the user's language (ApiError words them)
  if (error.body?.code === "validation") return error.detail;
  if (error.status === 403) return t("error.forbidden", { detail: error.detail });
  if (error.status === 404) return t("error.notfound");
  return t("error.server", { status: error.status, detail: error.detail });
}

/** A short message at the top of the view (role=status: screen readers announce it). */
export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  box.className = `flash ${kind}`;
  box.textContent = message;
  box.hidden = !message;
}

/** What ``post`` answers when a change was queued instead of sent (no connection). */
export const QUEUED = Object.freeze({ queued: true });

/** A queued change's name: the action's, or the field work's. */
export function queueLabel(path) {
  return t(`action.${path}`) !== `action.${path}` ? t(`action.${path}`) : t(`queue.path.${path}`);
}

/** Render ``load()``'s answer with ``draw`` into a box; errors shown in place. */
export function async(box, load, draw) {
  replace(box, h("p", { class: "muted" }, t("loading")));
  load().then((data) => replace(box, draw(data)),
    (exc) => replace(box, h("p", { class: "form-error" }, describe(exc))));
  return box;
}

/** A paginated list: ``load(limit, offset)`` answers a Page, ``draw(page)`` its items; the
 * pager below moves through it (the page kept across redraws of the screen). */
export function paged(key, limit, load, draw) {
  const box = h("div", {});
  const offsets = paged.offsets;
  const show = (offset) => {
    offsets[key] = offset;
    async(box, () => load(limit, offset), (page) => {
      if (!page.items.length && offset > 0) {
        queueMicrotask(() => show(Math.max(0, offset - limit)));
        return h("p", { class: "muted" }, t("loading"));
      }
      const to = offset + page.items.length;
      return h("div", {}, draw(page), page.total > limit ? h("div", { class: "pager", dataset: { pager: key } },
        h("span", {}, t("orders.page", { from: page.total ? offset + 1 : 0, to, total: page.total })),
        h("button", { type: "button", class: "small", disabled: offset <= 0,
          onClick: () => show(Math.max(0, offset - limit)) }, t("orders.prev")),
        h("button", { type: "button", class: "small", disabled: to >= page.total,
          onClick: () => show(offset + limit) }, t("orders.next"))) : null);
    });
  };
  show(offsets[key] || 0);
  return box;
}
paged.offsets = {};
