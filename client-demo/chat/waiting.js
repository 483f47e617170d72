// The waiting room: place in the queue, the estimate, the standing advice to
// call 1177 or 112, and leaving the queue.

import { $, duration, h } from "../shared/dom.js";

function positionTexts(t, position) {
  if (!position || !position.position) return [t("waiting.position.unknown"), ""];
  const place = t("waiting.position", { position: position.position, depth: position.depth });
  const ms = position.estimated_wait_ms;
  let estimate;
  if (ms === null || ms === undefined) estimate = t("waiting.estimate.none");
  else if (ms < 60000) estimate = t("waiting.estimate.soon");
  else estimate = t("waiting.estimate", { time: duration(ms) });
  return [place, estimate];
}

export function renderWaiting(screen) {
  const { t, i18n } = screen.app;
  const file = screen.file || {};
  const reason = file.reason && file.reason.label ? i18n.pick(file.reason.label) : "";
  const me = screen.app.me;
  const forOther = file.patient_name && me && file.patient_name !== me.name;
  const [place, estimate] = positionTexts(t, screen.position);
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
  const history = screen.chat.items.length ? screen.chat.history() : null;
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
    h(
      "div",
      { class: "position", id: "position", "aria-live": "polite", "aria-atomic": "true" },
      h("p", { class: "place", id: "place" }, place),
      h("p", { class: "estimate", id: "estimate" }, estimate),
    ),
    moving ? h("p", { class: "banner ok" }, t("waiting.moving")) : null,
    h("p", { class: "banner warn standing" }, t("waiting.worse")),
    h("p", { class: "info" }, t("waiting.info", { who: screen.professionText("the") })),
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
  const [place, estimate] = positionTexts(screen.app.t, screen.position);
  const placeEl = $("#place", screen.app.main);
  const estimateEl = $("#estimate", screen.app.main);
  if (placeEl && placeEl.textContent !== place) placeEl.textContent = place;
  if (estimateEl && estimateEl.textContent !== estimate) estimateEl.textContent = estimate;
}
