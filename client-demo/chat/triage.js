// The triage: one question at a time, then the result in plain words: call 112,
// go to the emergency department, call the advice line, self-care advice, or the way into
// the waiting room. Every text comes from the server in the respondent's form
// (a guardian reads about the child by name).

import { clear, focusFirst, h } from "../shared/dom.js";
import { search } from "./reasonsearch.js";
import { unlockAudio } from "./sound.js";
import { vaccinationPart } from "./vaccination.js";

const ELSEWHERE = new Set(["112_now", "emergency_department", "call_1177"]);

export class TriageScreen {
  constructor(app, view) {
    this.app = app;
    this.view = view;
    this.error = ""; // from the server
    this.invalid = ""; // the citizen's answer is missing or out of range
    this.busy = false;
    this.draft = null; // the answer being given (kept over a language change)
    this.skipped = false; // a number question's "not measured" / "don't know"
    this.query = ""; // the reason search, kept over a language change
    this.area = ""; // the body area browsed ("" = all)
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
    const helpEl = help ? h("p", { class: "help", id: "q-help" }, help) : null;
    let body;
    if (q.kind === "number") body = this.numberBody(q, heading, helpEl, describedBy);
    else if (q.kind === "text") {
      body = h(
        "div",
        { class: "answer" },
        heading,
        helpEl,
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
      body = h("div", { class: "answer" }, heading, helpEl, h("p", { class: "banner ok" }, t("triage.photo.info")));
    } else if (q.id === "reason" && q.browse) body = this.reasonBody(q, heading, helpEl, describedBy);
    else body = this.choiceBody(q, heading, helpEl, describedBy);
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

  numberBody(q, heading, helpEl, describedBy) {
    const { t, i18n } = this.app;
    const hasRange = q.minimum !== null && q.maximum !== null;
    const skip = q.skip
      ? h(
          "div",
          { class: "choice skip" },
          h("input", {
            type: "checkbox",
            id: "q-skip",
            checked: this.skipped,
            onchange: (e) => {
              this.skipped = e.target.checked;
              this.app.main.querySelector("#q-number").disabled = this.skipped;
              this.clearInvalid();
            },
          }),
          h("label", { for: "q-skip" }, i18n.pick(q.skip.text)),
        )
      : null;
    return h(
      "div",
      { class: "answer" },
      heading,
      helpEl,
      h(
        "div",
        { class: "number-row" },
        h("input", {
          type: "number",
          id: "q-number",
          inputmode: q.integer ? "numeric" : "decimal",
          min: q.minimum ?? null,
          max: q.maximum ?? null,
          step: q.integer ? "1" : "any",
          value: this.draft ?? "",
          disabled: this.skipped,
          "aria-labelledby": q.unit ? "q-heading q-unit" : "q-heading",
          "aria-describedby": [describedBy, hasRange ? "q-range" : ""].filter(Boolean).join(" ") || null,
          "aria-invalid": this.invalid ? "true" : null,
          oninput: (e) => (this.draft = e.target.value),
        }),
        q.unit ? h("span", { id: "q-unit", class: "unit" }, i18n.pick(q.unit)) : null,
      ),
      hasRange ? h("p", { class: "hint", id: "q-range" }, t("triage.number.hint", { min: q.minimum, max: q.maximum })) : null,
      skip,
    );
  }

  choiceBody(q, heading, helpEl, describedBy) {
    const { i18n } = this.app;
    const multi = q.kind === "checklist";
    const chosen = new Set(this.draft || []);
    return h(
      "fieldset",
      {
        class: "choices",
        role: multi ? null : "radiogroup",
        "aria-describedby": describedBy,
        "aria-invalid": this.invalid && !multi ? "true" : null,
      },
      h("legend", {}, heading),
      helpEl,
      q.options.map((o, i) =>
        h(
          "div",
          { class: o.exclusive ? "choice exclusive" : "choice" },
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

  // -- the choice of contact reason: search by everyday words, browse by body area ---------

  reasonBody(q, heading, helpEl, describedBy) {
    const { t, i18n } = this.app;
    const areas = q.browse.areas;
    const list = h("div", { class: "reason-list", id: "reason-list" });
    const count = h("p", { class: "hint", id: "reason-count", "aria-live": "polite" });
    const refresh = () => this.fillReasons(q, list, count);
    const field = h(
      "div",
      { class: "reason-find" },
      h("label", { for: "reason-search" }, t("reason.search.label")),
      h("p", { class: "hint", id: "reason-search-hint" }, t("reason.search.hint")),
      Object.assign(
        h("input", {
          type: "search",
          id: "reason-search",
          autocomplete: "off",
          spellcheck: "false",
          maxlength: "80",
          "aria-describedby": "reason-search-hint reason-count",
          "aria-controls": "reason-list",
          oninput: (e) => ((this.query = e.target.value), refresh()),
          onkeydown: (e) => e.key === "Enter" && e.preventDefault(), // Enter searches, it does not submit
        }),
        { value: this.query },
      ),
      h("label", { for: "reason-area" }, t("reason.area.label")),
      h(
        "select",
        { id: "reason-area", onchange: (e) => ((this.area = e.target.value), refresh()) },
        h("option", { value: "", selected: this.area === "" }, t("reason.area.all")),
        areas.map((a) => h("option", { value: a.id, selected: this.area === a.id }, i18n.pick(a.text))),
      ),
    );
    const group = h(
      "fieldset",
      {
        class: "choices",
        role: "radiogroup",
        "aria-labelledby": "q-heading",
        "aria-describedby": describedBy,
        "aria-invalid": this.invalid ? "true" : null,
      },
      list,
    );
    refresh();
    return h("div", { class: "answer" }, heading, helpEl, field, count, group);
  }

  // The reasons that match the search and the area, best match first (or in the language's
  // alphabetical order), "something else" always last; the chosen one stays in view.
  fillReasons(q, list, count) {
    const { t, i18n } = this.app;
    const meta = q.browse.reasons;
    const last = q.browse.last;
    const reasons = q.options.map((o) => ({ id: o.id, label: o.text, terms: meta[o.id]?.terms, area: meta[o.id]?.area }));
    const chosen = (this.draft || [])[0];
    const collator = new Intl.Collator(i18n.lang);
    // in the reader's alphabet first, so that equally good matches keep that order too
    const alphabetical = reasons.slice().sort((a, b) => collator.compare(i18n.pick(a.label), i18n.pick(b.label)));
    let shown;
    if (this.query.trim()) {
      const rank = new Map(search(alphabetical, this.query).map((m, i) => [m.id, i]));
      shown = alphabetical.filter((r) => rank.has(r.id)).sort((a, b) => rank.get(a.id) - rank.get(b.id));
    } else {
      shown = alphabetical;
    }
    if (this.area) shown = shown.filter((r) => r.area === this.area);
    shown = shown.filter((r) => r.id !== last);
    const matches = shown.length;
    const byId = new Map(reasons.map((r) => [r.id, r]));
    if (chosen && chosen !== last && !shown.some((r) => r.id === chosen) && byId.has(chosen)) shown.unshift(byId.get(chosen));
    if (byId.has(last)) shown.push(byId.get(last));
    const searching = this.query.trim() || this.area;
    count.textContent = !searching ? t("reason.count.all", { n: matches }) : matches ? t("reason.count", { n: matches }) : t("reason.none");
    clear(
      list,
      shown.map((r) =>
        h(
          "div",
          { class: r.id === last ? "choice last" : "choice" },
          h("input", {
            type: "radio",
            name: "answer",
            id: `reason-${r.id}`,
            value: r.id,
            checked: chosen === r.id,
            onchange: (e) => this.choose(e.target, false),
          }),
          h("label", { for: `reason-${r.id}` }, i18n.pick(r.label)),
        ),
      ),
    );
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
    this.clearInvalid();
  }

  clearInvalid() {
    if (!this.invalid) return;
    this.invalid = "";
    const error = this.app.main.querySelector("#q-error");
    error.textContent = "";
    error.removeAttribute("role");
  }

  answerValue() {
    const q = this.view.question;
    const { t, i18n } = this.app;
    if (q.kind === "photo") return { value: "skip" };
    if (q.kind === "number") {
      if (q.skip && this.skipped) return { value: q.skip.id };
      const raw = (this.draft ?? "").toString().trim().replace(",", ".");
      if (raw === "" || Number.isNaN(Number(raw))) {
        return { invalid: q.skip ? t("triage.number.or_skip", { skip: i18n.pick(q.skip.text) }) : t("triage.number.required") };
      }
      const n = Number(raw);
      if (q.integer && !Number.isInteger(n)) return { invalid: t("triage.number.whole") };
      const low = q.minimum ?? -Infinity;
      const high = q.maximum ?? Infinity;
      if (n < low || n > high) return { invalid: t("triage.number.range", { min: q.minimum, max: q.maximum }) };
      return { value: n };
    }
    if (q.kind === "text") return { value: (this.draft || "").trim() };
    const chosen = this.draft || [];
    if (!chosen.length) return { invalid: t(q.kind === "checklist" ? "triage.required.multi" : "triage.required") };
    return { value: q.kind === "checklist" ? chosen : chosen[0] };
  }

  async next() {
    if (this.busy) return;
    const { value, invalid } = this.answerValue();
    if (invalid) {
      this.invalid = invalid;
      this.renderQuestion();
      this.app.main.querySelector("input:not([disabled]), textarea")?.focus();
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
      const view = await this.app.api.call("POST", path, body);
      this.view = view;
      this.busy = false;
      this.invalid = "";
      this.draft = null;
      this.skipped = false;
      this.render();
      focusFirst(this.app.main);
    } catch (err) {
      this.busy = false;
      // An answer the server refused (an implausible number): ask again, saying why, keeping the draft.
      if (err.code === "invalid_answer" && this.view.question) this.invalid = this.app.errorText(err);
      else this.error = this.app.errorText(err);
      this.render();
      if (this.invalid) this.app.main.querySelector("input:not([disabled]), textarea")?.focus();
    }
  }

  // -- the result -------------------------------------------------------------------------

  renderResult() {
    const r = this.view.result;
    if (ELSEWHERE.has(r.care_level)) this.renderElsewhere(r);
    else this.renderCareResult(r);
  }

  // 112, the emergency department, or the advice line now: no waiting room, what to do now first.
  renderElsewhere(r) {
    const { t, i18n } = this.app;
    const kind = { "112_now": "112", emergency_department: "ed", call_1177: "advice" }[r.care_level];
    const phone = i18n.globals.advice_phone; // the region's advice number (its brand), if it has one
    const call =
      kind === "112"
        ? h("a", { class: "call-112", href: "tel:112" }, t("result.112.call"))
        : kind === "advice" && phone
          ? h("a", { class: "call-112 call-advice", href: `tel:${phone.replace(/[^0-9]/g, "")}` }, t("result.advice.call"))
          : null;
    clear(
      this.app.main,
      h(
        "section",
        { class: `emergency ${kind === "112" ? "" : "elsewhere"}`, role: "alert", "aria-labelledby": "emergency-heading" },
        h("h2", { id: "emergency-heading", tabindex: "-1" }, i18n.pick(r.headline)),
        r.why ? h("p", { class: "red-flag" }, i18n.pick(r.why)) : null,
        call,
        textList(i18n, t("result.first_aid"), r.first_aid, "first-aid"),
        textList(i18n, t("result.warning_signs"), r.safety_net, "safety-net"),
      ),
      h(
        "p",
        { class: "after-emergency" },
        h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("result.112.restart")),
      ),
    );
  }

  renderCareResult(r) {
    const { t, i18n } = this.app;
    const reason = r.reason && r.reason.label ? i18n.pick(r.reason.label) : "";
    const selfCare = r.care_level === "self_care";
    // A guardian reads about their child: the page says whom it is about, above every text
    // (some of the knowledge base's texts have no guardian form and say "du").
    const child = this.view.patient?.for_child ? this.view.patient.name || "" : "";
    const heading = selfCare ? "result.selfcare.heading" : "result.heading";
    const content = [
      h("h2", {}, child ? t(`${heading}.child`, { name: child }) : t(heading)),
      child ? h("p", { class: "for-child" }, t("result.for", { name: child, age: this.view.patient.age })) : null,
      reason ? h("p", { class: "reason" }, t("result.reason", { reason })) : null,
      h("p", { class: `level lead level-${r.care_level}` }, i18n.pick(r.headline)),
      r.care_level === "chat_now" ? h("p", { class: "banner warn" }, t("level.chat_now.warn")) : null,
      r.visit_text ? h("p", { class: "visit" }, i18n.pick(r.visit_text)) : null,
      r.why ? h("p", { class: "why" }, h("strong", {}, `${t("result.why")} `), i18n.pick(r.why)) : null,
      textList(i18n, t("result.advice"), r.advice, "advice"),
      textList(i18n, t("result.safety_net"), r.safety_net, "safety-net"),
      selfCare && r.chat_anyway ? h("p", { class: "chat-anyway" }, i18n.pick(r.chat_anyway)) : null,
      answersSummary(t, i18n, r),
      this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
    ];
    const vaccination = vaccinationPart(this); // the vaccination entry: book a time yourself (chat/vaccination.js)
    if (vaccination) content.push(vaccination.el);
    const actions = h("div", { class: "actions" });
    if (vaccination?.bookable) actions.append(h("button", { type: "button", onclick: () => this.back() }, t("triage.back")));
    else if (selfCare) {
      actions.append(
        h("button", { type: "button", class: "primary", onclick: () => this.submit(true) }, t("result.chat_anyway")),
        h("button", { type: "button", onclick: () => this.back() }, t("triage.back")),
        h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("result.restart")),
      );
    } else {
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

function textList(i18n, title, texts, cls) {
  if (!texts || !texts.length) return null;
  return h("div", { class: cls }, h("h3", {}, title), texts.map((text) => h("p", {}, i18n.pick(text))));
}

function answersSummary(t, i18n, r) {
  return h(
    "details",
    { class: "summary" },
    h("summary", {}, t("result.summary")),
    h(
      "dl",
      {},
      (r.answers || []).map((a) => [h("dt", {}, i18n.pick(a.question)), h("dd", {}, i18n.pick(a.answer))]),
    ),
  );
}
