// Bookings on the citizen's side (issue 24): a booking card (in the chat's "booking" message, after a
// vaccination booking, in My bookings) with its calendar file, and the My bookings screen:
// the citizen's and her children's bookings, to cancel (after a confirmation), rebook (a new free time
// of the same unit) or, for a video visit at its time, open the visit's chat where the call comes.

import { clear, clock, focusFirst, h } from "../shared/dom.js";

const ZONE = "Europe/Stockholm";
const OPEN_BEFORE_MS = 10 * 60_000; // a video visit can be opened from ten minutes before its start (booking/texts.py)

const units = new Map(); // unit id -> promise of its card (name, address …)

// The unit's public facts (catalogue), fetched once per page.
export function unitCard(app, unitId) {
  if (!units.has(unitId)) {
    const found = app.api.call("GET", `/api/units/${encodeURIComponent(unitId)}/card`).catch(() => null);
    units.set(unitId, found);
  }
  return units.get(unitId);
}

// "tisdag 8 december" / "Tuesday 8 December" in Stockholm.
export function dayText(ms, lang) {
  return new Date(ms).toLocaleDateString(lang === "en" ? "en-GB" : "sv-SE", {
    weekday: "long", day: "numeric", month: "long", timeZone: ZONE,
  });
}

// The Stockholm calendar day of a time, as "YYYY-MM-DD" (groups slots by day).
export function dayKey(ms) {
  return new Date(ms).toLocaleDateString("sv-SE", { timeZone: ZONE });
}

export function calendarUrl(booking) {
  return `/api/bookings/${encodeURIComponent(booking.id)}/calendar.ics`;
}

// A booking as a card: unit, time, video or physical, address; the calendar file to download.
// The unit's name and address arrive a moment later (unitCard): the card fills them in.
// ``open``: the chat's card offers "Open the video visit" in the visit's window, as the booking
// message promises ("from the chat or My bookings"); My bookings has its own button.
export function bookingCard(app, booking, { heading = "h3", open = false } = {}) {
  const { t, i18n } = app;
  const lang = i18n.lang;
  const where = h("dd", { class: "booking-unit" }, booking.unit_name || booking.unit);
  const address = h("dd", { class: "booking-address" }, "…");
  unitCard(app, booking.unit).then((unit) => {
    if (!unit) return clear(address, booking.mode === "video" ? t("booking.video.where") : "–");
    clear(where, unit.name);
    const line = [unit.address, [unit.postcode, unit.city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
    clear(address, booking.mode === "video" ? t("booking.video.where") : line || "–");
  });
  const cancelled = booking.status === "cancelled";
  const titleKey = booking.vaccine ? "booking.title.vaccine" : `booking.title.${booking.mode}`;
  return h(
    "article",
    { class: `booking-card${cancelled ? " cancelled" : ""}`, dataset: { booking: booking.id } },
    h(heading, {}, t(titleKey, { vaccine: vaccineText(t, booking.vaccine) })),
    cancelled ? h("p", { class: "banner warn" }, t("booking.cancelled")) : null,
    h(
      "dl",
      { class: "booking-facts" },
      booking.patient_name ? [h("dt", {}, t("booking.patient")), h("dd", {}, booking.patient_name)] : null,
      h("dt", {}, t("booking.when")),
      h(
        "dd",
        { class: "booking-when" },
        h("time", { datetime: new Date(booking.start_ms).toISOString() },
          `${dayText(booking.start_ms, lang)} ${clock(booking.start_ms, lang)}–${clock(booking.end_ms, lang)}`),
      ),
      h("dt", {}, t("booking.mode")),
      h("dd", { class: "booking-mode" }, t(`booking.mode.${booking.mode}`)),
      h("dt", {}, t("booking.unit")),
      where,
      h("dt", {}, t("booking.address")),
      address,
    ),
    cancelled
      ? null
      : h("p", {}, h("a", { class: "calendar-file", href: calendarUrl(booking), download: "" }, t("booking.calendar"))),
    open && !cancelled && booking.mode === "video" ? openControl(app, booking) : null,
  );
}

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (about 24 days)

// The chat card's "Open the video visit": shown from ten minutes before the start to the end by the
// page's clock (the server decides: a refusal, for a moved or cancelled visit, is shown in the card).
function openControl(app, booking) {
  const box = h("div", { class: "actions booking-open" });
  const show = () => {
    const error = h("p", { class: "banner danger", role: "alert", hidden: true });
    const button = h("button", {
      type: "button",
      class: "primary",
      onclick: async () => {
        button.disabled = true;
        try {
          await openVideoVisit(app, booking);
        } catch (err) {
          error.hidden = false;
          clear(error, app.errorText(err));
        }
        button.disabled = false;
      },
    }, app.t("bookings.open"));
    clear(box, button, error);
  };
  const at = (ms, then) => ms - Date.now() < MAX_TIMER_MS && setTimeout(then, Math.max(0, ms - Date.now()));
  const now = Date.now();
  if (now >= booking.end_ms) return null;
  if (now >= booking.start_ms - OPEN_BEFORE_MS) show();
  else at(booking.start_ms - OPEN_BEFORE_MS, show);
  at(booking.end_ms, () => clear(box));
  return box;
}

// Open a video visit at its time: the server makes (once) the case its call comes in, and the chat opens it.
export async function openVideoVisit(app, booking) {
  const { case: caseId } = await app.api.call("POST", `/api/bookings/${encodeURIComponent(booking.id)}/open`);
  const status = await app.api.call("GET", `/api/cases/${encodeURIComponent(caseId)}`);
  app.openCase(status);
}

export function vaccineText(t, code) {
  return code ? t(`vaccine.${code}`) : "";
}

// The way to My bookings, under the administrative entry (the source pages: cancel or rebook there).
export function myBookingsButton(app) {
  return h("button", { type: "button", class: "link my-bookings-link", id: "my-bookings",
    onclick: () => app.show(new MyBookingsScreen(app)) }, app.t("bookings.open.link"));
}

// -- My bookings ----------------------------------------------------------------------------

export class MyBookingsScreen {
  constructor(app) {
    this.app = app;
    this.bookings = null;
    this.error = "";
    this.note = ""; // the last change, said politely ("The time is cancelled")
    this.confirming = ""; // the booking whose cancellation waits for a yes
    this.rebooking = null; // {booking, slots, day, chosen}
    this.busy = false;
    this.load();
  }

  async load() {
    try {
      const { bookings } = await this.app.api.call("GET", "/api/bookings");
      this.bookings = bookings.sort((a, b) => a.start_ms - b.start_ms);
      this.error = "";
    } catch (err) {
      this.bookings = this.bookings || [];
      this.error = this.app.errorText(err);
    }
    if (this.app.screen === this) this.renderKeepingFocus();
  }

  // Render again where the list arrived late: the focus stays where it was (the heading, a button).
  renderKeepingFocus() {
    const focused = document.activeElement;
    const inside = focused && this.app.main.contains(focused);
    const id = inside ? focused.id : "";
    this.render();
    const again = id ? document.getElementById(id) : null;
    if (again) again.focus();
    else if (inside) focusFirst(this.app.main);
  }

  render() {
    const { t } = this.app;
    const now = Date.now();
    const ahead = (this.bookings || []).filter((b) => b.status === "booked" && b.end_ms > now);
    const list =
      this.bookings === null
        ? h("p", { class: "loading" }, t("loading"))
        : ahead.length
          ? h("ul", { class: "bookings" }, ahead.map((b) => h("li", {}, this.item(b, now))))
          : h("p", { class: "no-bookings" }, t("bookings.none"));
    clear(
      this.app.main,
      h(
        "section",
        { class: "card my-bookings", "aria-labelledby": "bookings-heading" },
        h("h2", { id: "bookings-heading", tabindex: "-1" }, t("bookings.heading")),
        h("p", { class: "lead" }, t("bookings.lead")),
        h("p", { role: "status", class: this.note ? "banner ok" : null }, this.note),
        this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
        list,
        h("div", { class: "actions" },
          h("button", { type: "button", class: "link", onclick: () => this.app.toEntry() }, t("bookings.back"))),
      ),
    );
  }

  item(booking, now) {
    const { t } = this.app;
    const card = bookingCard(this.app, booking);
    if (this.rebooking?.booking.id === booking.id) return [card, this.rebookForm()];
    if (this.confirming === booking.id) {
      return [card, h("div", { class: "confirm", role: "group", "aria-labelledby": `confirm-${booking.id}` },
        h("p", { id: `confirm-${booking.id}` }, t("bookings.cancel.confirm")),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "danger", "data-autofocus": "", onclick: () => this.cancel(booking) },
            t("bookings.cancel.yes")),
          h("button", { type: "button", onclick: () => this.setConfirm("") }, t("bookings.cancel.no"))))];
    }
    const label = (key) => `${t(key)}: ${dayText(booking.start_ms, this.app.i18n.lang)} ${clock(booking.start_ms, this.app.i18n.lang)}`;
    // The server says when a video visit opens (can_open); the page's own clock is the fallback.
    const open = booking.mode === "video" &&
      (booking.can_open ?? (now >= booking.start_ms - OPEN_BEFORE_MS && now < booking.end_ms));
    return [card, h("div", { class: "actions" },
      open ? h("button", { type: "button", class: "primary", onclick: () => this.openVisit(booking) }, t("bookings.open")) : null,
      h("button", { type: "button", "aria-label": label("bookings.rebook"), onclick: () => this.startRebook(booking) },
        t("bookings.rebook")),
      h("button", { type: "button", "aria-label": label("bookings.cancel"), onclick: () => this.setConfirm(booking.id) },
        t("bookings.cancel")))];
  }

  setConfirm(id) {
    this.confirming = id;
    this.render();
    focusFirst(this.app.main.querySelector(id ? ".confirm" : ".my-bookings"));
  }

  async cancel(booking) {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.app.api.call("DELETE", `/api/bookings/${encodeURIComponent(booking.id)}`);
      this.note = this.app.t("bookings.cancelled", { when: dayText(booking.start_ms, this.app.i18n.lang) });
      this.confirming = "";
    } catch (err) {
      this.error = this.app.errorText(err);
    }
    this.busy = false;
    await this.load();
    focusFirst(this.app.main);
  }

  // -- rebook: a new free time of the same unit, profession and mode --

  async startRebook(booking) {
    this.rebooking = { booking, slots: null, day: "", chosen: 0 };
    this.render();
    const q = new URLSearchParams({
      unit: booking.unit, profession: booking.profession, mode: booking.mode, from: String(Date.now()), days: "14",
    });
    try {
      const answer = await this.app.api.call("GET", `/api/slots?${q}`);
      this.rebooking.slots = answer.slots || [];
      this.rebooking.day = this.rebooking.slots.length ? dayKey(this.rebooking.slots[0].start_ms) : "";
    } catch (err) {
      this.rebooking.slots = [];
      this.error = this.app.errorText(err);
    }
    if (this.app.screen === this) {
      this.render();
      this.app.main.querySelector(".rebook select, .rebook p")?.focus?.();
    }
  }

  rebookForm() {
    const { t } = this.app;
    const state = this.rebooking;
    if (state.slots === null) return h("p", { class: "loading" }, t("loading"));
    const picker = slotPicker(this.app, state.slots, state, `rebook-${state.booking.id}`, () => this.render());
    return h(
      "form",
      { class: "rebook", "aria-label": t("bookings.rebook.heading"), onsubmit: (e) => (e.preventDefault(), this.rebook()) },
      h("h3", {}, t("bookings.rebook.heading")),
      picker,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", disabled: !state.chosen || this.busy }, t("bookings.rebook.save")),
        h("button", { type: "button", onclick: () => ((this.rebooking = null), this.render()) }, t("bookings.cancel.no"))),
    );
  }

  async rebook() {
    const state = this.rebooking;
    if (this.busy || !state?.chosen) return;
    this.busy = true;
    try {
      const path = `/api/bookings/${encodeURIComponent(state.booking.id)}/rebook`;
      const moved = await this.app.api.call("POST", path, { start_ms: state.chosen });
      const lang = this.app.i18n.lang;
      this.note = this.app.t("bookings.rebooked", { when: `${dayText(moved.start_ms, lang)} ${clock(moved.start_ms, lang)}` });
      this.rebooking = null;
    } catch (err) {
      this.error = this.app.errorText(err);
    }
    this.busy = false;
    await this.load();
    focusFirst(this.app.main);
  }

  async openVisit(booking) {
    try {
      await openVideoVisit(this.app, booking);
    } catch (err) {
      this.error = this.app.errorText(err);
      this.render();
    }
  }
}

// Free times by day: a day to choose, then that day's times as radio buttons. ``state`` holds
// {day, chosen}; ``changed`` re-renders. The times' group is labelled by the day.
export function slotPicker(app, slots, state, idBase, changed) {
  const { t, i18n } = app;
  if (!slots.length) return h("p", { class: "no-slots", tabindex: "-1" }, t("slots.none"));
  const days = [...new Set(slots.map((s) => dayKey(s.start_ms)))];
  if (!days.includes(state.day)) state.day = days[0];
  const ofDay = slots.filter((s) => dayKey(s.start_ms) === state.day);
  const firstOf = (day) => slots.find((s) => dayKey(s.start_ms) === day).start_ms;
  const select = h(
    "select",
    {
      id: `${idBase}-day`,
      onchange: (e) => {
        state.day = e.target.value;
        changed();
        document.getElementById(`${idBase}-day`)?.focus();
      },
    },
    days.map((day) => h("option", { value: day, selected: day === state.day }, dayText(firstOf(day), i18n.lang))),
  );
  return h(
    "div",
    { class: "slot-picker" },
    h("label", { for: `${idBase}-day` }, t("slots.day")),
    select,
    h(
      "fieldset",
      { class: "slots" },
      h("legend", {}, t("slots.times", { day: dayText(firstOf(state.day), i18n.lang) })),
      h("div", { class: "slot-grid" }, ofDay.map((s) => {
        const id = `${idBase}-${s.start_ms}`;
        return h("span", { class: "slot" },
          h("input", { type: "radio", name: `${idBase}-time`, id, value: String(s.start_ms), checked: state.chosen === s.start_ms,
            onchange: () => ((state.chosen = s.start_ms), changed(), document.getElementById(id)?.focus()) }),
          h("label", { for: id }, clock(s.start_ms, i18n.lang)));
      })),
    ),
  );
}

