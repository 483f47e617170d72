// The mobile number for the "your chat is ready" SMS (issue 23): given or confirmed in the waiting
// room, with consent, and changed or removed while waiting. Pre-filled from the case (the number
// already given) or the e-ID / demo profile (session.phone). PUT /api/cases/{case}/phone.

import { h } from "../shared/dom.js";

export function phoneForm(screen) {
  const app = screen.app;
  const t = app.t;
  const given = screen.file?.sms_phone || "";
  const status = h("p", { class: "phone-status", id: "phone-status", role: "status" }, statusText(t, given));
  const input = h("input", {
    id: "sms-phone",
    type: "tel",
    name: "phone",
    autocomplete: "tel",
    inputmode: "tel",
    maxlength: "32",
    value: given || app.me?.phone || "",
    "aria-describedby": "sms-phone-hint",
  });
  const consent = h("input", { id: "sms-consent", type: "checkbox", name: "consent" });
  consent.checked = Boolean(given);
  const problem = h("p", { class: "phone-problem", id: "phone-problem", role: "alert" });

  async function save(event) {
    event.preventDefault();
    problem.textContent = "";
    const body = { phone: consent.checked ? input.value.trim() : "", consent: consent.checked };
    if (body.phone && !swedishMobile(body.phone)) {
      refuse(t("phone.invalid"));
      return;
    }
    try {
      const done = await app.api.call("PUT", `/api/cases/${encodeURIComponent(screen.caseId)}/phone`, body);
      screen.file = { ...screen.file, sms_phone: done.sms_phone };
      if (done.sms_phone) input.value = done.sms_phone;
      status.textContent = statusText(t, done.sms_phone || "");
    } catch (err) {
      refuse(err.status === 400 ? t("phone.invalid") : app.errorText(err));
      return;
    }
    input.removeAttribute("aria-invalid");
  }

  function refuse(text) {
    problem.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  return h(
    "form",
    { class: "sms-phone", "aria-labelledby": "sms-heading", onsubmit: save },
    h("h3", { id: "sms-heading" }, t("phone.heading")),
    h("label", { for: "sms-phone" }, t("phone.label")),
    h("p", { class: "hint", id: "sms-phone-hint" }, t("phone.hint")),
    input,
    h("p", { class: "consent" }, consent, " ", h("label", { for: "sms-consent" }, t("phone.consent"))),
    problem,
    h("button", { type: "submit", class: "secondary" }, t("phone.save")),
    status,
  );
}

// The server's rule (identity/profile.py mobile_e164), checked here first so a typo is told at once.
function swedishMobile(written) {
  let digits = written.replace(/[\s\-()]/g, "");
  if (digits.startsWith("00")) digits = `+${digits.slice(2)}`;
  else if (digits.startsWith("0")) digits = `+46${digits.slice(1)}`;
  return /^\+467[02369][0-9]{7}$/.test(digits);
}

function statusText(t, phone) {
  return phone ? t("phone.on", { phone }) : t("phone.off");
}
