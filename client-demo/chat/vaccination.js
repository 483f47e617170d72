// Vaccination self-booking (issue 24): after the vaccination triage the result screen says
// whether the patient may book a time herself (GET /api/vaccination/{triage}); if so, "Book a
// time yourself" shows the nearest fitting units with their free times by day, books one
// (POST /api/vaccination/{triage}/booking) and confirms it with the booking card and its
// calendar file. "I have questions" still sends the answers to the vaccination queue.

import { clear, clock, focusFirst, h } from "../shared/dom.js";
import { bookingCard, dayText, MyBookingsScreen, slotPicker, vaccineText } from "./booking.js";

// The offer box on the triage's result screen. ``screen`` is the TriageScreen: the offer is
// fetched once and kept on it (a language switch re-renders without asking again).
export function vaccinationPart(screen) {
  const { app, view } = screen;
  if (view.entry !== "vaccination" || !view.result) return null;
  if (screen.vaccination === undefined) {
    screen.vaccination = null;
    app.api
      .call("GET", `/api/vaccination/${encodeURIComponent(view.id)}`)
      .then((offer) => (screen.vaccination = offer))
      .catch(() => (screen.vaccination = { eligible: false, text: null }))
      .then(() => {
        if (app.screen !== screen) return;
        const inside = app.main.contains(document.activeElement); // the result's heading had the focus
        screen.render();
        if (inside) focusFirst(app.main);
      });
  }
  const offer = screen.vaccination;
  if (!offer) return { el: h("p", { class: "loading" }, app.t("loading")), bookable: false };
  return { el: offerBox(app, screen, offer), bookable: offer.eligible };
}

function offerBox(app, screen, offer) {
  const { t, i18n } = app;
  if (!offer.eligible) {
    return h("div", { class: "vaccination-offer" },
      h("h3", {}, t("vacc.person.heading")),
      offer.text ? h("p", { class: "vacc-why" }, i18n.pick(offer.text)) : null);
  }
  return h(
    "div",
    { class: "vaccination-offer eligible" },
    h("h3", {}, t("vacc.self.heading")),
    h("p", { class: "vacc-why" }, i18n.pick(offer.text)),
    offer.booking ? h("p", { class: "banner ok" }, t("vacc.already")) : null,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "vacc-book",
        onclick: () => app.show(offer.booking ? new VaccinationBooked(app, offer.booking) : new VaccinationScreen(app, screen.view, offer)) },
        offer.booking ? t("vacc.show.booking") : t("vacc.book")),
      h("button", { type: "button", id: "vacc-questions", onclick: () => screen.submit(false) }, t("vacc.questions"))),
  );
}

// Choose a place, a unit's day and time, and book.
export class VaccinationScreen {
  constructor(app, view, offer) {
    Object.assign(this, { app, view, offer });
    this.picks = {}; // unit id -> {day, chosen}
    this.chosen = null; // {unit, start_ms}
    this.error = "";
    this.busy = false;
  }

  async reload(place) {
    const q = new URLSearchParams({ place });
    try {
      this.offer = await this.app.api.call("GET", `/api/vaccination/${encodeURIComponent(this.view.id)}?${q}`);
      this.picks = {};
      this.chosen = null;
      this.error = "";
    } catch (err) {
      this.error = this.app.errorText(err);
    }
    this.render();
    document.getElementById("vacc-place")?.focus();
  }

  render() {
    const { t, i18n } = this.app;
    const offer = this.offer;
    const child = offer.patient?.for_child ? offer.patient.name || "" : "";
    const vaccine = vaccineText(t, offer.vaccine);
    clear(
      this.app.main,
      h(
        "section",
        { class: "card vaccination-booking", "aria-labelledby": "vacc-heading" },
        h("h2", { id: "vacc-heading", tabindex: "-1" }, child ? t("vacc.heading.child", { vaccine, name: child }) : t("vacc.heading", { vaccine })),
        h("p", { class: "lead" }, i18n.pick(offer.text)),
        this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
        this.placeChooser(),
        h("form", { class: "vacc-form", novalidate: true, onsubmit: (e) => (e.preventDefault(), this.book()) },
          offer.units.length
            ? offer.units.map((unit) => this.unitPart(unit))
            : h("p", { class: "no-slots" }, t("vacc.no.units")),
          h("p", { role: "status", class: "vacc-chosen" }, this.chosenText()),
          h("div", { class: "actions" },
            h("button", { type: "submit", class: "primary", id: "vacc-confirm", disabled: !this.chosen || this.busy }, t("vacc.confirm")),
            h("button", { type: "button", id: "vacc-questions", onclick: () => this.questions() }, t("vacc.questions")),
            h("button", { type: "button", class: "link", onclick: () => this.back() }, t("triage.back")))),
      ),
    );
  }

  placeChooser() {
    const { t } = this.app;
    const places = this.offer.places || [];
    return h("div", { class: "vacc-place" },
      h("label", { for: "vacc-place" }, t("vacc.place")),
      h("select", { id: "vacc-place", onchange: (e) => this.reload(e.target.value) },
        this.offer.place ? null : h("option", { value: "" }, "–"),
        places.map((p) => h("option", { value: p, selected: p === this.offer.place }, p))));
  }

  unitPart(unit) {
    const { t } = this.app;
    const state = (this.picks[unit.id] ||= { day: "", chosen: this.chosen?.unit === unit.id ? this.chosen.start_ms : 0 });
    const picker = slotPicker(this.app, unit.slots, state, `u-${unit.id}`, () => {
      if (state.chosen) {
        for (const [id, other] of Object.entries(this.picks)) if (id !== unit.id) other.chosen = 0;
        this.chosen = { unit: unit.id, start_ms: state.chosen };
      }
      this.render();
    });
    const address = [unit.address, [unit.postcode, unit.city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
    return h("div", { class: "vacc-unit", dataset: { unit: unit.id } },
      h("h3", {}, unit.name),
      h("p", { class: "hint" }, address, unit.km !== null && unit.km !== undefined ? ` · ${t("vacc.km", { km: unit.km })}` : ""),
      picker);
  }

  chosenText() {
    if (!this.chosen) return "";
    const { t, i18n } = this.app;
    const unit = this.offer.units.find((u) => u.id === this.chosen.unit);
    return t("vacc.chosen", { unit: unit?.name || "", when: `${dayText(this.chosen.start_ms, i18n.lang)} ${clock(this.chosen.start_ms, i18n.lang)}` });
  }

  async book() {
    if (this.busy || !this.chosen) return;
    this.busy = true;
    this.error = "";
    try {
      const path = `/api/vaccination/${encodeURIComponent(this.view.id)}/booking`;
      const booking = await this.app.api.call("POST", path, this.chosen);
      this.busy = false;
      this.app.show(new VaccinationBooked(this.app, booking));
    } catch (err) {
      this.busy = false;
      this.error = this.app.errorText(err);
      this.render();
      this.app.main.querySelector("[role=alert]")?.focus?.();
    }
  }

  async questions() {
    try {
      const body = { triage: this.view.id, ...(this.app.unit ? { unit: this.app.unit } : {}) }; // as triage.js sends it
      this.app.openCase(await this.app.api.call("POST", "/api/cases", body));
    } catch (err) {
      this.error = this.app.errorText(err);
      this.render();
    }
  }

  back() {
    this.app.startTriage(this.view);
  }
}

// The confirmation: the booking card with its calendar file, and the way to My bookings.
export class VaccinationBooked {
  constructor(app, booking) {
    Object.assign(this, { app, booking });
  }

  render() {
    const { t } = this.app;
    clear(
      this.app.main,
      h(
        "section",
        { class: "card vaccination-booked", "aria-labelledby": "booked-heading" },
        h("h2", { id: "booked-heading", tabindex: "-1" }, t("vacc.booked.heading")),
        h("p", { class: "lead" }, t("vacc.booked.lead")),
        bookingCard(this.app, this.booking),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: () => this.app.show(new MyBookingsScreen(this.app)) }, t("bookings.heading")),
          h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("vacc.booked.done"))),
      ),
    );
  }
}
