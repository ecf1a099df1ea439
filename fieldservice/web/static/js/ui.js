// Messages shared by every view.
import { ApiError } from "./api.js";
import { t } from "./i18n.js";

/** Messages for errors that are not about one field. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String(error);
  if (error.status === 0) return t("error.network");
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
