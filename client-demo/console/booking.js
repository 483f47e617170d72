// "Boka" (book): a video or physical visit for the chat's patient, from a unit's free times
// (docs/booking.md). Choose unit (the patient's home unit first), profession and video or physical,
// see the free times by day, book one; the chat gets the booking message, the citizen an SMS.
// Then close the case as "visit booked" naming the booking. And "Dagens besök" (visits today): the
// nurse's booked visits, with "Öppna" for a video visit in its time, which opens the visit's chat.
// Both are the console's modal (dialogs.js): Escape closes, focus returns to the button.

import { h, clear } from "../shared/dom.js";

const DAYS = 7;
let serial = 0;

export class Booking {
  constructor(ctx) {
    this.ctx = ctx;
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  locale() {
    return this.ctx.i18n.lang === "en" ? "en-GB" : "sv-SE";
  }

  day(ms) {
    return new Date(ms).toLocaleDateString(this.locale(), { weekday: "long", day: "numeric", month: "long", timeZone: "Europe/Stockholm" });
  }

  time(ms) {
    return new Date(ms).toLocaleTimeString(this.locale(), { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Stockholm" });
  }

  what(b) {
    return this.t(`book_what_${b.mode}`, { profession: this.t(`skill_${b.profession}`).toLowerCase() });
  }

  // The button in a chat's head; the panel disables it with its other actions.
  button(chat) {
    return h("button", { type: "button", class: "book-button", onclick: (e) => this.open(chat, e.currentTarget) }, this.t("book"));
  }

  async open(chat, opener) {
    this.chat = chat;
    this.opener = opener;
    chat.booking ??= { unit: "", profession: "", mode: "video", booked: null };
    try {
      const data = await this.ctx.api.call("GET", `/api/booking/units?case=${encodeURIComponent(chat.case)}`);
      this.units = data.units;
      if (!chat.booking.unit) chat.booking.unit = data.default || data.units[0]?.unit || "";
    } catch (err) {
      this.ctx.alerts.toast(this.t("book_failed", { message: err.message }), "danger");
      return;
    }
    if (!this.units.length) {
      this.ctx.alerts.toast(this.t("book_no_units"), "danger");
      return;
    }
    if (chat.booking.booked) this.showBooked(chat.booking.booked);
    else this.showForm();
  }

  head() {
    return h(
      "div",
      { class: "dlg-head" },
      h("h2", { id: "dlg-h" }, this.t("book_heading")),
      h("button", { type: "button", onclick: () => this.ctx.dialogs.dialog.close() }, this.t("cancel")),
    );
  }

  // -- choose what and see the free times -------------------------------------------------------

  showForm() {
    const state = this.chat.booking;
    const unit = h("select", { id: "bk-unit" }, this.units.map((u) => h("option", { value: u.unit, selected: u.unit === state.unit }, u.name)));
    const profession = h("select", { id: "bk-prof" });
    const modes = h("fieldset", { class: "bk-modes" });
    const status = h("p", { class: "bk-status", role: "status" });
    const error = h("p", { class: "dlg-error", role: "alert" });
    const slots = h("div", { class: "bk-days", id: "bk-days" });
    let seq = 0;
    const offers = () => this.units.find((u) => u.unit === unit.value)?.offers || [];
    const fillProfessions = () => {
      const found = [...new Set(offers().map((o) => o.profession))];
      if (!found.includes(state.profession)) state.profession = found.includes("nurse") ? "nurse" : found[0] || "";
      clear(profession, found.map((p) => h("option", { value: p, selected: p === state.profession }, this.t(`skill_${p}`))));
    };
    const fillModes = () => {
      const found = offers().filter((o) => o.profession === profession.value).map((o) => o.mode);
      if (!found.includes(state.mode)) state.mode = found[0] || "";
      clear(
        modes,
        h("legend", {}, this.t("book_mode")),
        found.map((m) => {
          const id = `bk-mode-${m}`;
          const input = h("input", { type: "radio", name: "bk-mode", id, value: m, checked: m === state.mode, onchange: () => { state.mode = m; load(); } });
          return h("div", { class: "check" }, input, h("label", { for: id }, this.t(`book_mode_${m}`)));
        }),
      );
    };
    const load = async () => {
      const mine = ++seq;
      Object.assign(state, { unit: unit.value, profession: profession.value });
      error.textContent = "";
      clear(slots);
      if (!state.mode) return;
      status.textContent = this.t("book_loading");
      try {
        const q = new URLSearchParams({ unit: state.unit, profession: state.profession, mode: state.mode, days: String(DAYS) });
        const data = await this.ctx.api.call("GET", `/api/slots?${q}`);
        if (mine !== seq) return;
        this.renderSlots(slots, data.slots);
        const n = data.slots.length;
        status.textContent = n === 0 ? this.t("book_none", { days: DAYS }) : this.t("book_n", { n, days: DAYS });
      } catch (err) {
        if (mine !== seq) return;
        status.textContent = "";
        error.textContent = this.t("book_failed", { message: err.message });
      }
    };
    unit.addEventListener("change", () => { fillProfessions(); fillModes(); load(); });
    profession.addEventListener("change", () => { fillModes(); load(); });
    fillProfessions();
    fillModes();
    const form = h(
      "div",
      { class: "bk-filters" },
      h("div", { class: "field" }, h("label", { for: unit.id }, this.t("book_unit")), unit),
      h("div", { class: "field" }, h("label", { for: profession.id }, this.t("book_profession")), profession),
      modes,
    );
    this.ctx.dialogs.show("booking", this.opener, this.head(), h("p", { class: "dlg-sub" }, this.chat.patientName()), form, error, status, slots);
    unit.focus();
    load();
  }

  // One group per day: the day as a heading, its free times as buttons.
  renderSlots(box, slots) {
    const days = new Map();
    for (const s of slots) {
      const key = this.day(s.start_ms);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(s);
    }
    clear(
      box,
      [...days.entries()].map(([day, list]) => {
        const id = `bk-day-${++serial}`;
        return h(
          "section",
          { class: "bk-day", "aria-labelledby": id },
          h("h3", { id }, day),
          h("ul", { class: "bk-times" }, list.map((s) => h("li", {}, h("button", {
            type: "button",
            class: "bk-time",
            "aria-label": this.t("book_time_label", { time: this.time(s.start_ms), day }),
            onclick: () => this.confirm(s),
          }, this.time(s.start_ms))))),
        );
      }),
    );
  }

  // -- confirm and book ---------------------------------------------------------------------------

  confirm(slot) {
    const state = this.chat.booking;
    const unitName = this.units.find((u) => u.unit === state.unit)?.name || state.unit;
    const summary = this.t("book_summary", { what: this.what(state), unit: unitName, day: this.day(slot.start_ms), time: this.time(slot.start_ms) });
    const error = h("p", { class: "dlg-error", role: "alert" });
    const ok = h("button", { type: "button", class: "primary", onclick: () => this.book(slot, ok, error) }, this.t("book_confirm"));
    const back = h("button", { type: "button", onclick: () => this.showForm() }, this.t("book_back"));
    this.ctx.dialogs.show("booking", this.opener, this.head(), h("p", { class: "dlg-sub" }, this.chat.patientName()),
      h("p", { class: "bk-summary", id: "bk-summary" }, summary), error, h("div", { class: "dlg-buttons" }, back, ok));
    ok.focus();
  }

  async book(slot, button, error) {
    if (button.getAttribute("aria-disabled") === "true") return;
    const state = this.chat.booking;
    button.setAttribute("aria-disabled", "true");
    error.textContent = "";
    try {
      const body = { unit: state.unit, profession: state.profession, mode: state.mode, start_ms: slot.start_ms };
      const data = await this.ctx.api.call("POST", `/api/staff/cases/${encodeURIComponent(this.chat.case)}/bookings`, body);
      state.booked = data.booking;
      this.showBooked(data.booking);
    } catch (err) {
      button.removeAttribute("aria-disabled");
      error.textContent = err.code === "slot_taken" ? this.t("book_taken") : this.t("book_failed", { message: err.message });
    }
  }

  // -- booked: the booking, and closing the case as visit booked -----------------------------------

  showBooked(b) {
    const text = this.t("book_done", { what: this.what(b), unit: b.unit_name, day: this.day(b.start_ms), time: this.time(b.start_ms) });
    const another = h("button", { type: "button", onclick: () => { this.chat.booking.booked = null; this.showForm(); } }, this.t("book_another"));
    this.ctx.dialogs.show("booking", this.opener, this.head(), h("p", { class: "dlg-sub" }, this.chat.patientName()),
      h("p", { class: "bk-done", id: "bk-done", tabindex: "-1" }, text), h("div", { class: "dlg-buttons" }, another), this.closeForm(b));
    this.ctx.dialogs.dialog.querySelector("#bk-done").focus();
  }

  closeForm(b) {
    const chat = this.chat;
    const note = h("textarea", { id: "bk-note", rows: "3", maxlength: "8000" });
    const outcome = h("select", { id: "bk-outcome" }, ["visit_booked", "video_consultation"].map((o) =>
      h("option", { value: o, selected: o === "visit_booked" }, this.t(`outcome_${o}`))));
    const error = h("p", { class: "dlg-error", role: "alert" });
    const confirm = h("button", { type: "submit", class: "danger" }, this.t("book_close"));
    return h(
      "form",
      {
        class: "bk-close",
        onsubmit: async (event) => {
          event.preventDefault();
          if (chat.ending) return;
          if (!(await this.ctx.dialogs.closeCase(chat, { outcome: outcome.value, booking: b.id, note: note.value }, confirm, error))) return;
          chat.booking = null;
          this.ctx.dialogs.finish();
        },
      },
      h("h3", {}, this.t("book_close_heading")),
      h("div", { class: "field" }, h("label", { for: outcome.id }, this.t("book_outcome")), outcome),
      h("div", { class: "field" }, h("label", { for: note.id }, this.t("journal_note")), note),
      error,
      h("div", { class: "dlg-buttons" }, confirm),
    );
  }

  // -- visits today ---------------------------------------------------------------------------------

  visitsButton() {
    this.visitsEl = h("button", { type: "button", id: "visits-today", class: "link", onclick: (e) => this.visits(e.currentTarget) }, this.t("visits_today"));
    return this.visitsEl;
  }

  relabel() {
    if (this.visitsEl) this.visitsEl.textContent = this.t("visits_today");
  }

  async visits(opener) {
    let data;
    try {
      data = await this.ctx.api.call("GET", "/api/staff/visits");
    } catch (err) {
      this.ctx.alerts.toast(this.t("book_failed", { message: err.message }), "danger");
      return;
    }
    const error = h("p", { class: "dlg-error", role: "alert" });
    const rows = data.visits.map((v) => {
      const id = `visit-${++serial}`;
      const open = v.mode === "video" && v.status === "booked"
        ? h("button", { type: "button", class: "primary", disabled: !v.can_open, "aria-describedby": id, onclick: (e) => this.openVisit(v, e.currentTarget, error) }, this.t("visit_open"))
        : null;
      const when = v.mode === "video" && !v.can_open ? this.t("visit_opens", { time: this.time(v.open_from_ms) }) : "";
      return h(
        "li",
        { class: "visit", dataset: { booking: v.id } },
        h("span", { class: "visit-text", id }, `${this.time(v.start_ms)} · ${v.patient_name} · ${this.what(v)} · ${v.unit_name}`),
        when ? h("span", { class: "hint" }, when) : null,
        open,
      );
    });
    const list = rows.length ? h("ul", { class: "visits", "aria-label": this.t("visits_today") }, rows) : h("p", {}, this.t("visits_none"));
    const head = h("div", { class: "dlg-head" }, h("h2", { id: "dlg-h" }, this.t("visits_heading", { day: this.day(Date.now()) })),
      h("button", { type: "button", onclick: () => this.ctx.dialogs.dialog.close() }, this.t("cancel")));
    this.ctx.dialogs.show("visits", opener, head, error, list);
    (this.ctx.dialogs.dialog.querySelector(".visit button:not([disabled])") || this.ctx.dialogs.dialog.querySelector("button")).focus();
  }

  // The visit's case is made (once) and claimed for me; the console opens its chat like a claim.
  async openVisit(v, button, error) {
    button.setAttribute("aria-disabled", "true");
    try {
      const data = await this.ctx.api.call("POST", `/api/bookings/${encodeURIComponent(v.id)}/open`);
      this.ctx.dialogs.finish();
      await this.ctx.openCase(data.case);
    } catch (err) {
      button.removeAttribute("aria-disabled");
      error.textContent = this.t("visit_open_failed", { message: err.message });
    }
  }
}
