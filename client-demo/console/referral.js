// "Hänvisa" (refer): find a care unit in the region's referral catalogue, read its card, put the
// referral message into the composer (the nurse edits and sends it as her own), and close the case
// as referred to that unit. Filters: open now or at a time, kind, service, near a municipality or
// postcode (the patient's home to start with); the list is nearest first, each with its opening.
// The dialog is the console's modal (dialogs.js): Escape closes, focus returns to "Hänvisa".

import { h, clear } from "../shared/dom.js";

let serial = 0;

export class Referral {
  constructor(ctx) {
    this.ctx = ctx;
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  // The button in a chat's head; the panel disables it with its other actions.
  button(chat) {
    return h("button", { type: "button", class: "refer-button", onclick: (e) => this.open(chat, e.currentTarget) }, this.t("refer"));
  }

  // Opens on the list with the last filters of this chat, or on the unit last chosen for it.
  open(chat, opener) {
    chat.referral ??= { near: null, kind: "", service: "", at: "", openOnly: true, unit: null };
    this.chat = chat;
    this.opener = opener;
    if (chat.referral.unit) this.showCard(chat.referral.unit);
    else this.showSearch();
  }

  // -- the search ----------------------------------------------------------------------------

  showSearch() {
    const state = this.chat.referral;
    const id = (name) => `ref-${name}`;
    const kind = h("select", { id: id("kind") }, h("option", { value: "" }, this.t("refer_any_kind")));
    const service = h("select", { id: id("service") }, h("option", { value: "" }, this.t("refer_any_service")));
    const near = h("input", { type: "text", id: id("near"), autocomplete: "off", maxlength: "40", "aria-describedby": id("near-hint") });
    const at = h("input", { type: "datetime-local", id: id("at"), value: state.at, "aria-describedby": id("at-hint") });
    const openOnly = h("input", { type: "checkbox", id: id("open"), checked: state.openOnly });
    const status = h("p", { class: "ref-status", role: "status" });
    const ageHint = h("p", { class: "hint" });
    const list = h("ul", { class: "ref-list", id: id("list"), "aria-label": this.t("refer_results") });
    const error = h("p", { class: "dlg-error", role: "alert" });
    let seq = 0;
    const search = async () => {
      const mine = ++seq;
      Object.assign(state, { kind: kind.value, service: service.value, at: at.value, openOnly: openOnly.checked });
      if (state.near !== null) state.near = near.value.trim();
      error.textContent = "";
      status.textContent = this.t("refer_searching");
      try {
        const data = await this.ctx.api.call("GET", `/api/staff/catalogue?${this.query(state)}`);
        if (mine !== seq) return;
        this.fillChoices(kind, data.kinds, state.kind);
        this.fillChoices(service, data.services, state.service);
        if (state.near === null) {
          state.near = data.near || "";
          near.value = state.near;
        }
        ageHint.textContent = Number.isInteger(data.age) ? this.t("refer_for_age", { age: data.age }) : "";
        clear(list, data.units.map((u) => h("li", {}, this.resultButton(u, data.kinds))));
        const n = data.units.length;
        status.textContent = n === 0 ? this.t("refer_none") : n === 1 ? this.t("refer_1") : this.t("refer_n", { n });
      } catch (err) {
        if (mine !== seq) return;
        status.textContent = "";
        error.textContent = this.t("refer_failed", { message: err.message });
      }
    };
    near.value = state.near || "";
    for (const el of [kind, service, at, openOnly]) el.addEventListener("change", search);
    const form = h(
      "form",
      {
        class: "ref-filters",
        role: "search",
        "aria-label": this.t("refer_filters"),
        onsubmit: (event) => {
          event.preventDefault();
          search();
        },
      },
      h("div", { class: "field" }, h("label", { for: kind.id }, this.t("refer_kind")), kind),
      h("div", { class: "field" }, h("label", { for: service.id }, this.t("refer_service")), service),
      h(
        "div",
        { class: "field" },
        h("label", { for: near.id }, this.t("refer_near")),
        near,
        h("p", { class: "hint", id: id("near-hint") }, this.t("refer_near_hint")),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: at.id }, this.t("refer_at")),
        at,
        h("p", { class: "hint", id: id("at-hint") }, this.t("refer_at_hint")),
      ),
      h("div", { class: "check" }, openOnly, h("label", { for: openOnly.id }, this.t("refer_open_only"))),
      h("div", { class: "dlg-buttons" }, h("button", { type: "submit", class: "primary" }, this.t("refer_search"))),
    );
    this.ctx.dialogs.show("referral", this.opener, this.head(), h("p", { class: "dlg-sub" }, this.chat.patientName()), form, error, ageHint, status, list);
    kind.focus();
    search();
  }

  query(state) {
    const params = new URLSearchParams({ case: this.chat.case });
    if (state.kind) params.set("kind", state.kind);
    if (state.service) params.set("service", state.service);
    if (state.near) params.set("near", state.near);
    if (state.at) params.set("at", state.at);
    if (state.openOnly) params.set("open", "true");
    return params.toString();
  }

  fillChoices(select, choices, chosen) {
    if (select.options.length > 1) return;
    for (const c of choices) select.append(h("option", { value: c.id, selected: c.id === chosen }, this.ctx.i18n.pick(c)));
  }

  head() {
    return h("div", { class: "dlg-head" }, h("h2", { id: "dlg-h" }, this.t("refer_heading")), h("button", { type: "button", onclick: () => this.ctx.dialogs.dialog.close() }, this.t("cancel")));
  }

  // "Akutmottagningen Västerås sjukhus — Akutmottagning · Västerås · 34 km — Öppen, stänger …"
  resultButton(u, kinds) {
    const n = ++serial;
    const kindName = this.ctx.i18n.pick(kinds.find((k) => k.id === u.kind)) || u.kind;
    const where = [kindName, u.city, u.distance_km === null ? null : this.t("refer_km", { km: this.km(u.distance_km) })].filter(Boolean).join(" · ");
    return h(
      "button",
      { type: "button", class: "ref-unit", "aria-labelledby": `ref-u${n}`, "aria-describedby": `ref-w${n} ref-o${n}`, dataset: { unit: u.id }, onclick: () => this.showCard(u.id) },
      h("span", { class: "ref-name", id: `ref-u${n}` }, u.name),
      h("span", { class: "ref-where", id: `ref-w${n}` }, where),
      h("span", { class: `ref-open ${u.open ? "is-open" : "is-closed"}`, id: `ref-o${n}` }, this.opening(u)),
    );
  }

  km(value) {
    return value.toLocaleString(this.ctx.i18n.lang === "en" ? "en-GB" : "sv-SE", { maximumFractionDigits: value < 10 ? 1 : 0 });
  }

  // "Öppen, stänger 22:00" / "Öppen dygnet runt" / "Stängd, öppnar mån 08:00"
  opening(u) {
    if (u.open) return u.closes_ms ? this.t("refer_open_until", { when: this.when(u.closes_ms) }) : this.t("refer_open_always");
    return u.opens_ms ? this.t("unit_opens", { when: this.when(u.opens_ms) }) : this.t("unit_closed_now");
  }

  when(ms) {
    return new Date(ms).toLocaleString(this.ctx.i18n.lang === "en" ? "en-GB" : "sv-SE", {
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: "Europe/Stockholm",
    });
  }

  // -- a unit's card ---------------------------------------------------------------------------

  async showCard(unitId) {
    const state = this.chat.referral;
    const params = new URLSearchParams({ case: this.chat.case });
    if (state.at) params.set("at", state.at);
    let card;
    try {
      card = await this.ctx.api.call("GET", `/api/staff/catalogue/${encodeURIComponent(unitId)}?${params}`);
    } catch (err) {
      state.unit = null;
      this.ctx.alerts.toast(this.t("refer_failed", { message: err.message }), "danger");
      return;
    }
    state.unit = unitId;
    const lang = this.ctx.i18n.lang === "en" ? "en" : "sv";
    const dl = (pairs) => h("dl", { class: "ref-facts" }, pairs.filter(([, v]) => v).map(([k, v]) => [h("dt", {}, this.t(k)), h("dd", {}, v)]));
    const facts = dl([
      ["refer_opening", this.opening(card)],
      ["refer_address", `${card.address}, ${card.postcode} ${card.city}`],
      ["refer_hours", card.hours[lang].week],
      ["refer_holidays", card.hours[lang].holidays],
      ["refer_phone", card.phone],
      ["refer_web", h("a", { href: card.web, target: "_blank", rel: "noopener noreferrer" }, card.web)],
      ["refer_directions", card.directions[lang]],
      ["refer_visits", card.drop_in ? this.t("refer_drop_in") : card.booking ? this.t("refer_booking") : ""],
      ["refer_distance", card.distance_km === null ? "" : this.t("refer_km", { km: this.km(card.distance_km) })],
    ]);
    const messageLang = card.lang === "en" ? "en" : "sv";
    const preview = h("pre", { class: "ref-message", id: "ref-message", tabindex: "0", "aria-labelledby": "ref-message-h" }, card.message[messageLang]);
    const insert = h("button", { type: "button", class: "primary", onclick: () => this.insert(card.message[messageLang], card) }, this.t("refer_insert"));
    const back = h("button", { type: "button", onclick: () => { state.unit = null; this.showSearch(); } }, this.t("refer_back"));
    this.ctx.dialogs.show(
      "referral",
      this.opener,
      this.head(),
      h("p", { class: "dlg-sub" }, this.chat.patientName()),
      h("section", { class: "ref-card", "aria-labelledby": "ref-card-h" }, h("h3", { id: "ref-card-h" }, card.name), facts),
      h("h3", { id: "ref-message-h" }, this.t("refer_message", { lang: this.t(messageLang === "en" ? "lang_en" : "lang_sv") })),
      preview,
      h("div", { class: "dlg-buttons" }, back, insert),
      this.closeForm(card),
    );
    insert.focus();
  }

  // The message goes into the composer, editable; the nurse sends it herself.
  insert(text, card) {
    const chat = this.chat;
    this.ctx.dialogs.finish();
    chat.textarea.value = text;
    chat.draft = text;
    chat.onInput?.();
    chat.textarea.focus();
    chat.textarea.setSelectionRange(text.length, text.length);
    this.ctx.alerts.toast(this.t("refer_inserted", { name: card.name }), "info");
  }

  // Close the case as referred to this unit, with a journal note.
  closeForm(card) {
    const chat = this.chat;
    const note = h("textarea", { id: "ref-note", rows: "3", maxlength: "8000" });
    const error = h("p", { class: "dlg-error", role: "alert" });
    const confirm = h("button", { type: "submit", class: "danger" }, this.t("refer_close", { name: card.name }));
    return h(
      "form",
      {
        class: "ref-close",
        onsubmit: async (event) => {
          event.preventDefault();
          if (chat.ending) return;
          if (!(await this.ctx.dialogs.closeCase(chat, { outcome: "referred", unit: card.id, note: note.value }, confirm, error))) return;
          chat.referral = null;
          this.ctx.dialogs.finish();
        },
      },
      h("h3", {}, this.t("refer_close_heading")),
      h("div", { class: "field" }, h("label", { for: note.id }, this.t("journal_note")), note),
      error,
      h("div", { class: "dlg-buttons" }, confirm),
    );
  }
}
