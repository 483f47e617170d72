// The waiting room: place in the queue, the estimate, the standing advice to
// call the advice line or 112, and leaving the queue.

import { $, duration, h } from "../shared/dom.js";
import { phoneForm } from "./phone.js";

const MINUTE = 60000;

// "5–25 min", "45 min – 1 h 30 min", or "under 5 min" (the range from the server, docs/protocol.md §6).
function rangeText(t, [low, high]) {
  if (low <= 0) return t("waiting.estimate.under", { time: duration(high) });
  const time = high < 60 * MINUTE ? `${Math.round(low / MINUTE)}–${duration(high)}` : `${duration(low)} – ${duration(high)}`;
  return t("waiting.estimate", { time });
}

// "i dag kl 08:00", "i morgon kl 08:00", "måndag 8 december kl 08:00" (Stockholm time).
function openingText(t, lang, ms) {
  const locale = lang === "en" ? "en-GB" : "sv-SE";
  const zone = { timeZone: "Europe/Stockholm" };
  const day = (at) => new Date(at).toLocaleDateString("sv-SE", zone);
  const time = new Date(ms).toLocaleTimeString(locale, { ...zone, hour: "2-digit", minute: "2-digit" });
  if (day(ms) === day(Date.now())) return t("waiting.opens.today", { time });
  if (day(ms) === day(Date.now() + 24 * 3600 * 1000)) return t("waiting.opens.tomorrow", { time });
  const date = new Date(ms).toLocaleDateString(locale, { ...zone, weekday: "long", day: "numeric", month: "long" });
  return t("waiting.opens.day", { date, time });
}

// What the unit's supervisor tells its waiting room (docs/protocol.md §6): intake closed for a
// while (its message and until when) and a notice; empty when neither is in force.
function steeringTexts(screen) {
  const { t, i18n } = screen.app;
  const position = screen.position || {};
  const closed = position.intake_closed;
  const notice = position.notice;
  const time = (ms) =>
    new Date(ms).toLocaleTimeString(i18n.lang === "en" ? "en-GB" : "sv-SE", {
      timeZone: "Europe/Stockholm", hour: "2-digit", minute: "2-digit",
    });
  return {
    intake: closed ? t("waiting.intake_closed", { text: closed.text, time: time(closed.until_ms) }) : "",
    unitNotice: notice ? t("waiting.unit_notice", { text: notice.text }) : "",
  };
}

// What the place box says: the place, the estimate (or why there is none), and a notice.
function positionTexts(screen) {
  const { t, i18n } = screen.app;
  const position = screen.position;
  if (!position || !position.position) return { place: t("waiting.position.unknown"), estimate: "", notice: "" };
  const place = t("waiting.position", { position: position.position, depth: position.depth });
  const unit = screen.queue?.unit_name || "";
  let estimate;
  let notice = "";
  if (position.open === false) {
    estimate = position.opens_ms
      ? t("waiting.closed", { unit, when: openingText(t, i18n.lang, position.opens_ms) })
      : t("waiting.closed.unknown", { unit });
  } else if (position.staffed === false) {
    estimate = t("waiting.estimate.unstaffed");
    notice = t("waiting.unstaffed", { unit });
  } else if (position.wait_range_ms) estimate = rangeText(t, position.wait_range_ms);
  else estimate = t("waiting.estimate.none");
  return { place, estimate, notice };
}

export function renderWaiting(screen) {
  const { t, i18n } = screen.app;
  const file = screen.file || {};
  const reason = file.reason && file.reason.label ? i18n.pick(file.reason.label) : "";
  const me = screen.app.me;
  const forOther = file.patient_name && me && file.patient_name !== me.name;
  const { place, estimate, notice } = positionTexts(screen);
  const { intake, unitNotice } = steeringTexts(screen);
  const queue = screen.queue || {};
  const moving = screen.state === "moving" || screen.state === "moved";

  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "leave-heading", "aria-describedby": "leave-text" },
    h("h2", { id: "leave-heading" }, t("waiting.leave.confirm.heading")),
    h("p", { id: "leave-text" }, t("waiting.leave.confirm.text")),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: () => dialog.close() }, t("waiting.leave.no")),
      h(
        "button",
        { type: "button", class: "danger", onclick: () => (dialog.close(), screen.abandon()) },
        t("waiting.leave.yes"),
      ),
    ),
  );

  const handover = screen.handover;
  const history = screen.chat.log.items.length ? screen.chat.history() : null;
  return h(
    "section",
    { class: "card waiting" },
    h("h2", {}, t(handover ? "waiting.handover.heading" : "waiting.heading")),
    handover
      ? h(
          "p",
          { class: "banner ok handover" },
          t("waiting.handover", { whom: screen.professionText("a"), unit: handover.unitName }),
        )
      : null,
    reason || forOther
      ? h(
          "p",
          { class: "about" },
          reason ? t("waiting.about", { reason }) : null,
          reason && forOther ? " · " : null,
          forOther ? t("waiting.for", { name: file.patient_name }) : null,
        )
      : null,
    queue.home_open === false
      ? h("p", { class: "elsewhere" }, t("waiting.elsewhere", { home: queue.home_unit_name, unit: queue.unit_name }))
      : null,
    h(
      "div",
      { class: "position", id: "position", "aria-live": "polite", "aria-atomic": "true" },
      h("p", { class: "place", id: "place" }, place),
      h("p", { class: "estimate", id: "estimate" }, estimate),
      h("p", { class: "banner warn wait-notice", id: "wait-notice" }, notice),
      h("p", { class: "banner warn unit-intake", id: "unit-intake" }, intake),
      h("p", { class: "banner ok unit-notice", id: "unit-notice" }, unitNotice),
    ),
    moving ? h("p", { class: "banner ok" }, t("waiting.moving")) : null,
    h("p", { class: "banner warn standing" }, t("waiting.worse")),
    h("p", { class: "info" }, t("waiting.info", { who: screen.professionText("the") })),
    moving ? null : phoneForm(screen),
    screen.call.element(),
    screen.error ? h("p", { class: "banner danger", role: "alert" }, screen.error) : null,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "danger", onclick: () => dialog.showModal() }, t("waiting.leave")),
    ),
    dialog,
    history,
  );
}

// A new position: change the text only when it changed, so screen readers hear it once.
export function updatePosition(screen) {
  const texts = { ...positionTexts(screen), ...steeringTexts(screen) };
  const shown = [
    ["place", texts.place],
    ["estimate", texts.estimate],
    ["wait-notice", texts.notice],
    ["unit-intake", texts.intake],
    ["unit-notice", texts.unitNotice],
  ];
  for (const [id, text] of shown) {
    const el = $(`#${id}`, screen.app.main);
    if (el && el.textContent !== text) el.textContent = text;
  }
}
