// Nurse guidance beside a chat (GET /api/staff/guidance, docs/guidance.md). The "Vägledning"
// button opens a panel at the top of the side column: a search box filled from the case's triage
// (its reason, found first; the patient's age puts the articles for that age first), the
// results, and an article (what to assess, what to ask, where to
// refer, self-care advice, sources). "Infoga i meddelandet" puts an advice into the composer in
// the patient's language, after what is already written, to edit: nothing is sent until the nurse
// sends it. Typing searches after a pause; Enter searches at once; Escape closes the panel.

import { h, clear } from "../shared/dom.js";

const DEBOUNCE_MS = 250;
const MAX_QUERY = 200; // the server's limit (GuidanceQuery.q)

export class GuidancePanel {
  constructor(chat) {
    this.chat = chat;
    this.ctx = chat.ctx;
    this.opened = false;
    this.query = null; // null until the case's triage has filled it
    this.findings = [];
    this.results = null; // null: not searched yet
    this.article = null;
    this.error = "";
    this.seq = 0;
    this.timer = null;
    const n = chat.n;
    this.id = `guide-${n}`;
    this.root = h("section", { class: "guidance", id: this.id, "aria-labelledby": `guide-h-${n}`, hidden: true });
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.close();
      }
    });
    this.button = h("button", {
      type: "button",
      "aria-expanded": "false",
      "aria-controls": this.id,
      onclick: () => (this.opened ? this.close() : this.open()),
    });
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  get lang() {
    return this.ctx.i18n.lang === "en" ? "en" : "sv";
  }

  // The advice goes to the patient: in the chat's language.
  get patientLang() {
    return this.chat.file?.lang === "en" ? "en" : "sv";
  }

  async open() {
    this.opened = true;
    this.render();
    this.input.focus();
    if (this.query === null) await this.load({ case: this.chat.case });
  }

  close() {
    this.opened = false;
    clearTimeout(this.timer);
    this.render();
    this.button.focus();
  }

  // -- the server ------------------------------------------------------------------------

  async load(params) {
    const mine = ++this.seq;
    this.error = "";
    try {
      const query = new URLSearchParams({ ...params, lang: this.lang });
      const data = await this.ctx.api.call("GET", `/api/staff/guidance?${query}`);
      if (mine !== this.seq) return;
      if (params.case) {
        this.query = data.query || "";
        this.findings = data.findings || [];
        this.input.value = this.query;
      }
      this.results = data.results || [];
      this.article = null;
    } catch (err) {
      if (mine !== this.seq) return;
      this.query = this.query ?? "";
      this.error = this.t("guide_failed", { message: err.message });
    }
    this.renderBody();
  }

  search(now = false) {
    clearTimeout(this.timer);
    const q = this.input.value.trim().slice(0, MAX_QUERY);
    this.query = q;
    const age = this.chat.file?.triage?.age;
    const params = Number.isInteger(age) ? { q, age: String(age) } : { q };
    const go = () => (q ? this.load(params) : this.showNothing());
    if (now) go();
    else this.timer = setTimeout(go, DEBOUNCE_MS);
  }

  showNothing() {
    this.seq++;
    this.results = [];
    this.article = null;
    this.renderBody();
  }

  async show(id) {
    const mine = ++this.seq;
    try {
      const article = await this.ctx.api.call("GET", `/api/staff/guidance/${encodeURIComponent(id)}`);
      if (mine !== this.seq) return;
      this.article = article;
      this.renderBody();
      this.body.querySelector("h4")?.focus();
    } catch (err) {
      this.error = this.t("guide_failed", { message: err.message });
      this.renderBody();
    }
  }

  // The advice after the draft (a blank line between), the caret at its end: edited, then sent by the nurse.
  insert(text) {
    const box = this.chat.textarea;
    const before = box.value.trim() ? `${box.value.replace(/\s+$/, "")}\n\n` : "";
    box.value = before + text;
    this.chat.onInput();
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    this.status.textContent = this.t("guide_inserted");
  }

  // -- view ----------------------------------------------------------------------------------

  // (Re)built with the chat's panel: the language may have changed; the query and the article stay.
  build() {
    const n = this.chat.n;
    this.button.textContent = this.t("guide_button");
    this.input = h("input", {
      id: `guide-q-${n}`,
      type: "search",
      maxlength: String(MAX_QUERY),
      autocomplete: "off",
      "aria-describedby": `guide-hint-${n}`,
    });
    this.input.value = this.query || "";
    this.input.addEventListener("input", () => this.search());
    this.status = h("p", { class: "visually-hidden", role: "status" });
    this.body = h("div", { class: "guide-body" });
    const form = h(
      "form",
      {
        class: "guide-search",
        role: "search",
        onsubmit: (event) => {
          event.preventDefault();
          this.search(true);
        },
      },
      h("label", { for: this.input.id }, this.t("guide_search")),
      h("div", { class: "guide-row" }, this.input, h("button", { type: "submit" }, this.t("guide_search_button"))),
    );
    clear(
      this.root,
      h(
        "div",
        { class: "guide-head" },
        h("h3", { id: `guide-h-${n}` }, this.t("guide_heading")),
        h("button", { type: "button", class: "link", onclick: () => this.close() }, this.t("guide_close")),
      ),
      form,
      h("p", { id: `guide-hint-${n}`, class: "hint" }, this.t("guide_hint")),
      this.status,
      this.body,
    );
    this.render();
  }

  render() {
    this.root.hidden = !this.opened;
    this.button.setAttribute("aria-expanded", this.opened ? "true" : "false");
    this.renderBody();
  }

  renderBody() {
    if (!this.body) return;
    if (this.error) clear(this.body, h("p", { class: "guide-status" }, this.error));
    else if (this.article) clear(this.body, this.articleEl(this.article));
    else if (this.results === null) clear(this.body, h("p", { class: "guide-status" }, this.t("loading")));
    else clear(this.body, this.prefilled(), this.resultsEl());
    if (!this.article && this.results) {
      const n = this.results.length;
      this.status.textContent = n ? this.t(n === 1 ? "guide_hits_1" : "guide_hits_n", { n }) : this.t("guide_none");
    }
  }

  prefilled() {
    if (!this.findings.length || this.input.value.trim() !== (this.query || "")) return null;
    return h("p", { class: "hint" }, this.t("guide_from_triage", { findings: this.findings.join(", ") }));
  }

  resultsEl() {
    if (!this.results.length) return h("p", { class: "guide-status" }, this.t("guide_none"));
    return h(
      "ul",
      { class: "guide-results", "aria-label": this.t("guide_results") },
      this.results.map((r) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "guide-hit", onclick: () => this.show(r.id) },
            h("span", { class: "guide-title" }, r.title),
            r.matched === "reason" ? h("span", { class: "guide-tag" }, ` · ${this.t("guide_case_reason")}`) : null,
            h("span", { class: "guide-area" }, r.area),
          ),
        ),
      ),
    );
  }

  articleEl(a) {
    const pick = (text) => (text ? text[this.lang] || text.sv : "");
    const n = this.chat.n;
    const list = (key, items, item) =>
      items.length ? [h("h5", {}, this.t(key)), h("ul", {}, items.map((x, i) => h("li", {}, item(x, i))))] : [];
    return h(
      "article",
      { class: "guide-article", "aria-labelledby": `guide-a-${n}` },
      h("button", { type: "button", class: "link", onclick: () => this.back() }, this.t("guide_back")),
      h("h4", { id: `guide-a-${n}`, tabindex: "-1" }, pick(a.title)),
      a.summary ? h("p", {}, pick(a.summary)) : null,
      list("guide_assess", a.assess, (x) => pick(x)),
      list("guide_ask", a.ask, (x) => pick(x)),
      list("guide_refer", a.refer, (r) => [h("strong", {}, pick(r.kind_name)), ": ", pick(r.when)]),
      list("guide_advice", a.advice, (x, i) => this.adviceEl(x, `guide-adv-${n}-${i}`)),
      list("guide_safety_net", a.safety_net, (x, i) => this.adviceEl(x, `guide-net-${n}-${i}`)),
      list("guide_sources", a.sources, (s) => s),
      h("p", { class: "hint" }, this.t("guide_version", { version: a.kb_version })),
    );
  }

  adviceEl(text, id) {
    const mine = text[this.lang] || text.sv;
    return [
      h("p", { id }, mine),
      h(
        "button",
        { type: "button", class: "guide-insert", "aria-describedby": id, onclick: () => this.insert(text[this.patientLang] || text.sv) },
        this.t(this.patientLang === this.lang ? "guide_insert" : "guide_insert_other", { lang: this.t(`lang_${this.patientLang}`) }),
      ),
    ];
  }

  back() {
    this.article = null;
    this.renderBody();
    this.body.querySelector(".guide-hit")?.focus();
  }
}
