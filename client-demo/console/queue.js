// The queue: waiting cases of the staff member's queues, from the `queue`
// snapshot, kept live from `queue_event` frames. Queue events carry no reason
// or age, so an arrival asks for a fresh snapshot (`watch`); a departure is
// removed at once. Rows are keyed by case so that focus survives updates.

import { h, duration, clock } from "../shared/dom.js";

const STOCKHOLM_DAY = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Stockholm", dateStyle: "short" });

const TICK_MS = 30000;
const HURRY_MS = 15 * 60000;
// Events that take a case out of our queues without anything new to show.
const GONE = new Set(["claimed", "closed", "abandoned", "moving", "moved"]);
// Events that do not change who is waiting.
const QUIET = new Set(["contact", "stale_refused", "breach"]);

export class Queue {
  constructor(ctx, { onClaimNext, onClaim }) {
    this.ctx = ctx;
    this.onClaimNext = onClaimNext;
    this.onClaim = onClaim;
    this.rows = [];
    this.els = new Map(); // case -> {li, parts}
    this.held = 0;
    this.busy = false;
    this.loaded = false;
    this.watchTimer = null;
    this.build();
    setInterval(() => this.tick(), TICK_MS);
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  build() {
    this.heading = h("h2", { id: "queue-h", tabindex: "-1" });
    this.count = h("span", { class: "qcount" });
    this.nextButton = h("button", {
      type: "button",
      class: "primary claim-next",
      "aria-describedby": "capacity-note",
      onclick: () => this.claimNext(),
    });
    this.capacity = h("p", { id: "capacity-note", class: "capnote" });
    this.list = h("ul", { class: "qlist", "aria-labelledby": "queue-h" });
    this.empty = h("p", { class: "qempty" });
    // why some rows have no "take" button: their unit serves cases in deadline order only
    this.orderNote = h("p", { id: "in-order-note", class: "ordernote", hidden: true });
    this.root = h(
      "section",
      { class: "queue", "aria-labelledby": "queue-h" },
      h("div", { class: "qhead" }, this.heading, this.count),
      h("div", { class: "qactions" }, this.nextButton, this.capacity),
      this.ctx.alerts.control,
      this.orderNote,
      this.empty,
      this.list,
    );
    this.render();
  }

  get full() {
    return this.held >= this.ctx.staff.max_chats;
  }

  get away() {
    return this.ctx.availability !== "available";
  }

  claimNext() {
    if (this.busy || this.full || this.away) return;
    this.onClaimNext();
  }

  setBusy(busy) {
    this.busy = busy;
    this.renderHead();
  }

  setHeld(n) {
    this.held = n;
    this.renderHead();
    for (const { parts } of this.els.values()) this.renderButton(parts);
  }

  snapshot(cases) {
    const before = this.loaded ? new Set(this.rows.map((r) => r.case)) : null;
    this.loaded = true;
    this.rows = [...cases].sort((a, b) => a.deadline_ms - b.deadline_ms || (a.case < b.case ? -1 : 1));
    for (const row of this.rows) this.ctx.learnUnit(row.unit);
    this.render();
    this.alert(before);
  }

  // Cases new since the last snapshot alert, except one this console held (returned, moved):
  // the first snapshot after login is what was waiting already.
  alert(before) {
    const waiting = new Set(this.rows.map((r) => r.case));
    this.ctx.alerts.waiting(waiting);
    if (!before) return;
    const arrived = this.rows.filter((r) => !before.has(r.case) && !this.ctx.heldHere(r.case));
    this.ctx.alerts.arrived(arrived, (row) => this.describe(row));
  }

  // "Prio 1 · Omgående – Allergisk reaktion, 34 år (Testby vårdcentral)": a notification's text.
  describe(row) {
    const who = [this.reasonOf(row), this.ageOf(row)].filter(Boolean).join(", ");
    return `${this.t("urgency", { n: row.urgency })} · ${this.t(`urgency_${row.urgency}`)} – ${who} (${this.ctx.unitName(row.unit)})`;
  }

  event(ev) {
    if (QUIET.has(ev.t)) return;
    if (GONE.has(ev.t)) {
      const before = this.rows.length;
      this.rows = this.rows.filter((r) => r.case !== ev.case);
      if (this.rows.length !== before) this.render();
      this.ctx.alerts.waiting(new Set(this.rows.map((r) => r.case)));
      return;
    }
    // enqueued, requeued, expired, transferred, reprioritised, …: the row needs the
    // snapshot's details (reason, age); ask once for a burst of events.
    this.refresh();
  }

  refresh() {
    clearTimeout(this.watchTimer);
    this.watchTimer = setTimeout(() => this.ctx.hub.raw({ t: "watch" }), 150);
  }

  render() {
    this.renderHead();
    const seen = new Set();
    this.rows.forEach((row, index) => {
      seen.add(row.case);
      let entry = this.els.get(row.case);
      if (!entry) {
        entry = this.makeRow();
        this.els.set(row.case, entry);
      }
      entry.row = row;
      this.fillRow(entry);
      if (this.list.children[index] !== entry.li) this.list.insertBefore(entry.li, this.list.children[index] || null);
    });
    for (const [caseId, entry] of this.els) {
      if (!seen.has(caseId)) {
        entry.li.remove();
        this.els.delete(caseId);
      }
    }
    this.empty.hidden = this.rows.length > 0 || !this.loaded;
    this.empty.textContent = this.t("queue_nothing");
    this.renderOrderNote();
  }

  renderOrderNote() {
    const units = [...new Set(this.rows.filter((r) => !r.pickable).map((r) => this.ctx.unitName(r.unit)))];
    this.orderNote.hidden = units.length === 0;
    this.orderNote.textContent = units.length ? this.t("in_order_note", { units: units.join(", ") }) : "";
  }

  renderHead() {
    this.heading.textContent = this.t("queue");
    this.count.textContent = this.loaded ? this.t("waiting_n", { n: this.rows.length }) : this.t("loading");
    this.nextButton.textContent = this.busy ? this.t("claim_busy") : this.t("claim_next");
    const blocked = this.busy || this.full || this.away;
    if (blocked) this.nextButton.setAttribute("aria-disabled", "true");
    else this.nextButton.removeAttribute("aria-disabled");
    const max = this.ctx.staff.max_chats;
    this.capacity.textContent = this.away
      ? this.t(`not_available_${this.ctx.availability}`)
      : this.full
        ? this.t("at_capacity", { n: this.held, max })
        : this.t("chats_of", { n: this.held, max });
    this.capacity.classList.toggle("full", this.full || this.away);
  }

  makeRow() {
    const parts = {
      urgency: h("span", { class: "urg" }),
      reason: h("span", { class: "reason" }),
      meta: h("span", { class: "meta" }),
      waited: h("span", { class: "waited" }),
      deadline: h("span", { class: "deadline" }),
      warn: h("span", { class: "warn" }),
      button: h("button", { type: "button", class: "pick" }),
      inOrder: h("span", { class: "inorder", "aria-describedby": "in-order-note" }),
    };
    parts.button.addEventListener("click", () => {
      if (parts.button.getAttribute("aria-disabled") === "true") return;
      this.onClaim(parts.entry.row.case, parts.button);
    });
    const li = h(
      "li",
      { class: "qrow" },
      h("div", { class: "qline" }, parts.urgency, parts.warn),
      parts.reason,
      h("div", { class: "qline" }, parts.meta, parts.waited),
      h("div", { class: "qline" }, parts.deadline),
      parts.button,
      parts.inOrder,
    );
    const entry = { li, parts, row: null };
    parts.entry = entry;
    return entry;
  }

  reasonOf(row) {
    return (row.label && this.ctx.i18n.pick(row.label)) || row.reason || "—";
  }

  ageOf(row) {
    if (row.age === null || row.age === undefined) return "";
    const age = this.t("age", { n: row.age });
    return row.for_child ? `${age}, ${this.t("child")}` : age;
  }

  fillRow(entry) {
    const { row, parts, li } = entry;
    li.dataset.urgency = String(row.urgency);
    li.dataset.case = row.case;
    parts.urgency.textContent = `${this.t("urgency", { n: row.urgency })} · ${this.t(`urgency_${row.urgency}`)}`;
    parts.reason.textContent = this.reasonOf(row);
    parts.meta.textContent = [this.ageOf(row), this.ctx.unitName(row.unit)].filter(Boolean).join(" · ");
    this.fillTimes(entry);
    this.renderButton(parts);
  }

  renderButton(parts) {
    const row = parts.entry.row;
    if (!row) return;
    parts.button.hidden = !row.pickable;
    parts.inOrder.hidden = row.pickable;
    parts.inOrder.textContent = this.t("in_order");
    parts.button.textContent = this.t("claim_case");
    parts.button.setAttribute("aria-label", this.t("claim_case_name", { reason: this.reasonOf(row), age: this.ageOf(row) }));
    if (this.full || this.busy) parts.button.setAttribute("aria-disabled", "true");
    else parts.button.removeAttribute("aria-disabled");
    if (this.full) parts.button.setAttribute("aria-describedby", "capacity-note");
    else parts.button.removeAttribute("aria-describedby");
  }

  fillTimes(entry) {
    const { row, parts, li } = entry;
    const now = Date.now();
    parts.waited.textContent = this.t("waited", { d: duration(now - row.submitted_ms) });
    parts.deadline.textContent = this.t("deadline", { time: this.when(row.deadline_ms, now) });
    const left = row.deadline_ms - now;
    let state = "";
    if (left < 0) {
      state = "late";
      parts.warn.textContent = this.t("late", { n: Math.max(1, Math.round(-left / 60000)) });
    } else if (left <= HURRY_MS) {
      state = "hurry";
      parts.warn.textContent = this.t("urgent_left", { n: Math.max(1, Math.ceil(left / 60000)) });
    }
    parts.warn.hidden = !state;
    parts.warn.className = `warn ${state}`;
    li.dataset.deadline = state;
  }

  // "14:05" today, "tis 9 dec. 14:05" on another day (Stockholm time).
  when(ms, now) {
    const lang = this.ctx.i18n.lang;
    if (STOCKHOLM_DAY.format(ms) === STOCKHOLM_DAY.format(now)) return clock(ms, lang);
    const day = new Date(ms).toLocaleDateString(lang === "en" ? "en-GB" : "sv-SE", {
      weekday: "short",
      day: "numeric",
      month: "short",
      timeZone: "Europe/Stockholm",
    });
    return `${day} ${clock(ms, lang)}`;
  }

  tick() {
    for (const entry of this.els.values()) this.fillTimes(entry);
  }

  relabel() {
    this.render();
  }
}
