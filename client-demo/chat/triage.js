// The triage: one question at a time, then the result (112, self-care advice,
// or the way into the waiting room).

import { clear, focusFirst, h } from "../shared/dom.js";
import { unlockAudio } from "./sound.js";

export class TriageScreen {
  constructor(app, view) {
    this.app = app;
    this.view = view;
    this.error = ""; // from the server
    this.invalid = ""; // the citizen's answer is missing or out of range
    this.busy = false;
    this.draft = null; // the answer being given (kept over a language change)
  }

  render() {
    if (this.view.question) this.renderQuestion();
    else this.renderResult();
  }

  // -- questions --------------------------------------------------------------------------

  renderQuestion() {
    const { t, i18n } = this.app;
    const q = this.view.question;
    const help = i18n.pick(q.help);
    const describedBy = [help ? "q-help" : "", this.invalid ? "q-error" : ""].filter(Boolean).join(" ") || null;
    const heading = h("h2", { id: "q-heading", tabindex: "-1" }, i18n.pick(q.text));
    let body;
    if (q.kind === "number") {
      const hasRange = q.minimum !== null && q.maximum !== null;
      body = h(
        "div",
        { class: "answer" },
        heading,
        help ? h("p", { class: "help", id: "q-help" }, help) : null,
        h(
          "div",
          { class: "number-row" },
          h("input", {
            type: "number",
            id: "q-number",
            inputmode: "decimal",
            min: q.minimum ?? null,
            max: q.maximum ?? null,
            step: "any",
            value: this.draft ?? "",
            "aria-labelledby": q.unit ? "q-heading q-unit" : "q-heading",
            "aria-describedby": [describedBy, hasRange ? "q-range" : ""].filter(Boolean).join(" ") || null,
            "aria-invalid": this.invalid ? "true" : null,
            oninput: (e) => (this.draft = e.target.value),
          }),
          q.unit ? h("span", { id: "q-unit", class: "unit" }, i18n.pick(q.unit)) : null,
        ),
        hasRange
          ? h("p", { class: "hint", id: "q-range" }, t("triage.number.hint", { min: q.minimum, max: q.maximum }))
          : null,
      );
    } else if (q.kind === "text") {
      body = h(
        "div",
        { class: "answer" },
        heading,
        help ? h("p", { class: "help", id: "q-help" }, help) : null,
        h("label", { for: "q-text" }, t("triage.text.label")),
        Object.assign(
          h("textarea", {
            id: "q-text",
            rows: "4",
            maxlength: "2000",
            "aria-describedby": describedBy,
            oninput: (e) => (this.draft = e.target.value),
          }),
          { value: this.draft ?? "" },
        ),
      );
    } else if (q.kind === "photo") {
      body = h(
        "div",
        { class: "answer" },
        heading,
        help ? h("p", { class: "help", id: "q-help" }, help) : null,
        h("p", { class: "banner ok" }, t("triage.photo.info")),
      );
    } else {
      const multi = q.kind === "multi";
      const chosen = new Set(this.draft || []);
      body = h(
        "fieldset",
        {
          class: "choices",
          role: multi ? null : "radiogroup",
          "aria-describedby": describedBy,
          "aria-invalid": this.invalid && !multi ? "true" : null,
        },
        h("legend", {}, heading),
        help ? h("p", { class: "help", id: "q-help" }, help) : null,
        q.options.map((o, i) =>
          h(
            "div",
            { class: "choice" },
            h("input", {
              type: multi ? "checkbox" : "radio",
              name: "answer",
              id: `opt-${i}`,
              value: o.id,
              checked: chosen.has(o.id),
              dataset: { exclusive: o.exclusive ? "1" : "" },
              onchange: (e) => this.choose(e.target, multi),
            }),
            h("label", { for: `opt-${i}` }, i18n.pick(o.text)),
          ),
        ),
      );
    }
    const form = h(
      "form",
      { class: "card question", novalidate: true, onsubmit: (e) => (e.preventDefault(), this.next()) },
      h("p", { class: "progress" }, t("triage.progress", { n: this.view.answered + 1 })),
      this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
      body,
      h("p", { class: "field-error", id: "q-error", role: this.invalid ? "alert" : null }, this.invalid),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary", disabled: this.busy }, t("triage.next")),
        h("button", { type: "button", disabled: this.busy, onclick: () => this.back() }, t("triage.back")),
      ),
    );
    clear(this.app.main, form);
  }

  choose(input, multi) {
    const inputs = [...this.app.main.querySelectorAll('input[name="answer"]')];
    if (multi && input.checked) {
      for (const other of inputs) {
        if (other === input) continue;
        // "None of these" excludes everything else, and anything else excludes it.
        if (input.dataset.exclusive || other.dataset.exclusive) other.checked = false;
      }
    }
    this.draft = inputs.filter((i) => i.checked).map((i) => i.value);
    if (this.invalid) {
      this.invalid = "";
      const error = this.app.main.querySelector("#q-error");
      error.textContent = "";
      error.removeAttribute("role");
    }
  }

  answerValue() {
    const q = this.view.question;
    const { t } = this.app;
    if (q.kind === "photo") return { value: "skip" };
    if (q.kind === "number") {
      const raw = (this.draft ?? "").toString().trim().replace(",", ".");
      if (raw === "" || Number.isNaN(Number(raw))) return { invalid: t("triage.number.required") };
      const n = Number(raw);
      const low = q.minimum ?? -Infinity;
      const high = q.maximum ?? Infinity;
      if (n < low || n > high) return { invalid: t("triage.number.range", { min: q.minimum, max: q.maximum }) };
      return { value: n };
    }
    if (q.kind === "text") return { value: (this.draft || "").trim() };
    const chosen = this.draft || [];
    if (!chosen.length) return { invalid: t(q.kind === "multi" ? "triage.required.multi" : "triage.required") };
    return { value: q.kind === "multi" ? chosen : chosen[0] };
  }

  async next() {
    if (this.busy) return;
    const { value, invalid } = this.answerValue();
    if (invalid) {
      this.invalid = invalid;
      this.renderQuestion();
      this.app.main.querySelector("input, textarea")?.focus();
      return;
    }
    await this.call(`/api/triage/${encodeURIComponent(this.view.id)}/answer`, {
      question: this.view.question.id,
      value,
    });
  }

  async back() {
    if (this.busy) return;
    if (this.view.answered === 0) return this.app.toEntry();
    await this.call(`/api/triage/${encodeURIComponent(this.view.id)}/back`);
  }

  async call(path, body) {
    this.busy = true;
    this.error = "";
    try {
      this.view = await this.app.api.call("POST", path, body);
      this.busy = false;
      this.invalid = "";
      this.draft = null;
      this.render();
      focusFirst(this.app.main);
    } catch (err) {
      this.busy = false;
      this.error = this.app.errorText(err);
      this.render();
    }
  }

  // -- the result -------------------------------------------------------------------------

  renderResult() {
    const { t, i18n } = this.app;
    const r = this.view.result;
    const reason = r.reason && r.reason.label ? i18n.pick(r.reason.label) : "";
    if (r.care_level === "112_now") {
      clear(
        this.app.main,
        h(
          "section",
          { class: "emergency", role: "alert", "aria-labelledby": "emergency-heading" },
          h("h2", { id: "emergency-heading", tabindex: "-1" }, t("result.112.heading")),
          r.red_flag ? h("p", { class: "red-flag" }, i18n.pick(r.red_flag)) : null,
          h("p", {}, t("result.112.lead")),
          h("a", { class: "call-112", href: "tel:112" }, t("result.112.call")),
        ),
        h(
          "p",
          { class: "after-emergency" },
          h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("result.112.restart")),
        ),
      );
      return;
    }
    const notes = (r.notes || []).map((n) => h("p", { class: "note" }, i18n.pick(n)));
    const summary = h(
      "details",
      { class: "summary" },
      h("summary", {}, t("result.summary")),
      h(
        "dl",
        {},
        (r.summary || []).map((s) => [h("dt", {}, i18n.pick(s.question)), h("dd", {}, answerText(i18n, s.answer))]),
      ),
    );
    const actions = h("div", { class: "actions" });
    let content;
    if (r.care_level === "self_care") {
      content = [
        h("h2", {}, t("result.selfcare.heading")),
        reason ? h("p", { class: "reason" }, t("result.reason", { reason })) : null,
        h("p", { class: "lead" }, t("result.selfcare.lead")),
        r.advice ? h("div", { class: "advice" }, h("p", {}, i18n.pick(r.advice))) : null,
        notes,
        summary,
        this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
      ];
      actions.append(
        h("button", { type: "button", class: "primary", onclick: () => this.submit(true) }, t("result.chat_anyway")),
        h("button", { type: "button", onclick: () => this.back() }, t("triage.back")),
        h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("result.restart")),
      );
    } else {
      const level = t(`level.${r.care_level}`);
      content = [
        h("h2", {}, t("result.heading")),
        reason ? h("p", { class: "reason" }, t("result.reason", { reason })) : null,
        h("p", { class: "level" }, level),
        r.care_level === "chat_now" ? h("p", { class: "banner warn" }, t("level.chat_now.warn")) : null,
        r.advice ? h("div", { class: "advice" }, h("p", {}, i18n.pick(r.advice))) : null,
        notes,
        h("p", {}, t("result.queue.lead")),
        summary,
        this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
      ];
      actions.append(
        h("button", { type: "button", class: "primary", onclick: () => this.submit(false) }, t("result.submit")),
        h("button", { type: "button", onclick: () => this.back() }, t("triage.back")),
      );
    }
    clear(this.app.main, h("section", { class: "card result" }, content, actions));
  }

  async submit(chatAnyway) {
    if (this.busy) return;
    unlockAudio(); // a user gesture: the chime may play when the chat opens
    this.busy = true;
    this.error = "";
    const body = { triage: this.view.id };
    if (chatAnyway) body.chat_anyway = true;
    if (this.app.unit) body.unit = this.app.unit;
    try {
      const status = await this.app.api.call("POST", "/api/cases", body);
      this.busy = false;
      this.app.openCase(status);
    } catch (err) {
      this.busy = false;
      this.error = this.app.errorText(err);
      this.render();
      this.app.main.querySelector("[role=alert]")?.scrollIntoView?.({ block: "center" });
    }
  }
}

function answerText(i18n, answer) {
  const text = i18n.pick(answer);
  return text === "skip" ? "–" : text;
}
