// The API seen from the pages: the bearer token, JSON in and out, errors with the fields
// they concern. Pages talk only to the public API (docs/api.md), as any other client would.

import { label, validationText } from "./i18n.js";

const TOKEN_KEY = "fieldgate-token";

export class ApiError extends Error {
  /** status 0 means the request never got an answer (offline, server down). */
  constructor(status, detail, body = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.body = body;
    /** field name -> message, from a 422's validation errors (the last part of each loc) */
    this.fields = {};
    /** @type {string | null} the message a view words for the user, when it has one */
    this.userMessage = null;
    if (body && Array.isArray(body.errors)) {
      const general = [];
      for (const e of body.errors) {
        const loc = e.loc || [];
        const name = loc.length > 1 ? String(loc[loc.length - 1]) : "";
        const text = validationText(e);
        if (name) this.fields[name] = text;
        general.push(name ? `${label("field", name)}: ${text}` : text);
      }
      this.detail = general.join(" ");
      this.message = this.detail;
    }
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Called when the server refuses the token (expired, revoked): the app shows sign-in. */
/** @type {(error: ApiError) => void} */
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

async function parse(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/**
 * @typedef {object} ApiOptions
 * @property {string} [method]
 * @property {any} [json] sent as a JSON body
 * @property {Record<string, string>} [form] sent form-encoded
 * @property {Record<string, any>} [query] query parameters (arrays repeat the parameter)
 * @property {boolean} [auth] send the bearer token (default true)
 * @property {Record<string, string>} [headers] more request headers (Idempotency-Key)
 */

/**
 * ``api("/api/work-orders", {query: {limit: 20}})``; ``json`` sends a JSON body, ``form`` a
 * form-encoded one. Resolves with the parsed body; rejects with an ApiError.
 * @param {string} path
 * @param {ApiOptions} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = "GET", json, form, query, auth = true,
  headers: extra = {} } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json", ...extra };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (exc) {
    throw new ApiError(0, String(exc));
  }
  const data = await parse(response);
  if (response.ok) return data;
  const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
  const error = new ApiError(response.status, detail, data);
  if (response.status === 401 && auth) onUnauthorized(error);
  throw error;
}
