// Form pieces shared by the editors: labelled fields, checkbox groups, and the
// server's 422 answer shown on the field it names (error.field, e.g. "units[0]").

import { h } from "../shared/dom.js";

let counter = 0;
const nextId = (base) => `${base}-${++counter}`;

// A labelled input; `name` is the body field it edits (data-field, for errors).
export function field(name, label, input, hint = "") {
  input.id = input.id || nextId(`f-${name.replace(/[^a-z0-9]/gi, "-")}`);
  const error = h("p", { class: "field-error", id: `${input.id}-error` });
  const hintEl = hint ? h("p", { class: "hint", id: `${input.id}-hint` }, hint) : null;
  input.setAttribute("aria-describedby", [hintEl && hintEl.id, error.id].filter(Boolean).join(" "));
  return h("div", { class: "field", dataset: { field: name } }, h("label", { for: input.id }, label), input, hintEl, error);
}

export function checkbox(name, label, checked) {
  const input = h("input", { type: "checkbox", id: nextId(`c-${name}`), checked });
  const error = h("p", { class: "field-error", id: `${input.id}-error` });
  input.setAttribute("aria-describedby", error.id);
  return { input, el: h("div", { class: "field check", dataset: { field: name } }, input, h("label", { for: input.id }, label), error) };
}

// A fieldset of checkboxes: options [{value, label}], the chosen values.
export function choices(name, legend, options, chosen) {
  const boxes = options.map(({ value, label }) => {
    const input = h("input", { type: "checkbox", value, checked: chosen.includes(value) });
    return { input, el: h("label", {}, input, label) };
  });
  const error = h("p", { class: "field-error" });
  const el = h("fieldset", { dataset: { field: name } }, h("legend", {}, legend), h("div", { class: "choices" }, boxes.map((b) => b.el)), error);
  return { el, values: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value) };
}

export function select(options, value) {
  return h("select", {}, options.map((o) => h("option", { value: o.value, selected: o.value === value }, o.label)));
}

// Clear every mark of an earlier answer.
export function clearErrors(form) {
  form.querySelector(".form-error").textContent = "";
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// The element a field path names: itself, else its list ("units[0]" -> "units"), else its head ("hours.mon-fri" -> "hours").
function target(form, path) {
  const candidates = [path, path.replace(/\[\d+\]$/, ""), path.split(/[.[]/)[0]];
  for (const name of candidates) {
    const el = [...form.querySelectorAll("[data-field]")].find((e) => e.dataset.field === name);
    if (el) return el;
  }
  return null;
}

// Show a refused save: the summary at the top of the form, and the field it names marked and focused.
export function showError(form, err, t, labelOf = (name) => name) {
  clearErrors(form);
  const summary = form.querySelector(".form-error");
  if (err.code === "config_invalid" && err.field !== undefined) {
    const el = target(form, err.field);
    const message = err.message.replace(/^[^:]*: /, "");
    summary.textContent = t("invalid", { field: labelOf(el ? el.dataset.field : err.field), message });
    if (el) {
      el.querySelector(".field-error").textContent = message;
      const input = el.querySelector("input, select, textarea");
      for (const i of el.querySelectorAll("input, select, textarea")) i.setAttribute("aria-invalid", "true");
      if (input) input.focus();
      return;
    }
  } else {
    summary.textContent = t("failed", { message: err.message });
  }
  summary.focus();
}

export function formShell(heading, onsubmit, onCancel, t, ...children) {
  const summary = h("p", { class: "form-error", role: "alert", tabindex: "-1" });
  const form = h(
    "form",
    { class: "edit", novalidate: true, "aria-labelledby": "edit-heading", onsubmit: (e) => { e.preventDefault(); onsubmit(form); } },
    h("h2", { id: "edit-heading", tabindex: "-1" }, heading),
    summary,
    ...children,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save")), h("button", { type: "button", onclick: onCancel }, t("cancel"))),
  );
  return form;
}
