// A few helpers to build the DOM without a framework: h(tag, attributes, ...children).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A label with its input and a place for the input's error message. */
export function field(labelText, input, name) {
  input.name ||= name;
  input.id ||= `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  return h("div", { class: "field" },
    h("label", { for: input.id }, labelText), input,
    h("div", { class: "field-error", role: "alert", "data-error-for": name }));
}

/** Show an ApiError: each 422 field message under its input, the rest in ``general``. */
export function showErrors(form, error, general) {
  for (const el of form.querySelectorAll("[data-error-for]")) el.textContent = "";
  let placed = false;
  for (const [name, message] of Object.entries(error.fields || {})) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) {
      slot.textContent = message;
      placed = true;
    }
  }
  if (general) general.textContent = placed ? "" : error.userMessage || error.message;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll("[data-error-for], .form-error")) el.textContent = "";
}
