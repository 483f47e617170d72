// How the console gets a nurse's attention: toasts (a role="status" region),
// sounds, the window title, and (with the staff member's permission) desktop
// notifications. A case arriving in the staff member's queues alerts; the most
// urgent levels alert harder: a sharper sound, repeated until someone acts, a
// notification that stays, and a title that stays until the case is taken. The
// queue snapshot lists only the staff member's own queues, so a case elsewhere
// never alerts.

import { h } from "../shared/dom.js";

const TOAST_MS = 9000;
const MAX_TOASTS = 2;
const URGENT_LEVEL = 2; // urgency 1 and 2: "immediately" and "within an hour"
const REPEAT_MS = 30000;
const REPEAT_FOR_MS = 5 * 60000;
const NOTIFY_KEY = "direkt.console.notify";

// Tones (Hz) and loudness of each sound.
const SOUNDS = {
  message: { tones: [660, 880], step: 0.15, gain: 0.12 },
  arrival: { tones: [523, 659, 784], step: 0.16, gain: 0.18 },
  urgent: { tones: [988, 740, 988, 740, 988, 740], step: 0.12, gain: 0.3 },
};

export class Alerts {
  constructor(i18n, region) {
    this.i18n = i18n;
    this.region = region;
    this.unread = 0;
    this.arrivals = new Map(); // case -> urgency, not yet acknowledged
    this.flashTimer = null;
    this.repeatTimer = null;
    this.audio = null;
    this.availability = "available"; // paused: only urgent arrivals sound; away: none do
    this.onOpenQueue = () => {};
    this.buildControl();
    document.addEventListener("visibilitychange", () => this.title());
    for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, () => this.acknowledge(), true);
    i18n.addEventListener("change", () => {
      this.title();
      this.renderControl();
    });
  }

  t(key, values) {
    return this.i18n.t(key, values);
  }

  // At most MAX_TOASTS at a time, newest last; the same text again counts up on the toast it
  // already has ("Nytt meddelande från Maja (3)") instead of stacking over the queue.
  toast(text, kind = "info") {
    const same = [...this.region.children].find((el) => el.dataset.text === text && el.dataset.kind === kind);
    const el = same || h("p", { class: `toast ${kind}`, dataset: { text, kind, n: "0" } });
    const n = Number(el.dataset.n) + 1;
    el.dataset.n = String(n);
    el.textContent = n > 1 ? `${text} (${n})` : text;
    this.region.append(el); // moves a counted one to the end: it is the newest again
    while (this.region.children.length > MAX_TOASTS) this.region.firstElementChild.remove();
    clearTimeout(el.timer);
    el.timer = setTimeout(() => el.remove(), TOAST_MS);
  }

  // -- sounds --------------------------------------------------------------------------

  // A short pattern of tones; silently nothing where audio is not allowed yet.
  sound(kind = "message") {
    const { tones, step, gain: loud } = SOUNDS[kind];
    try {
      this.audio = this.audio || new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
      const now = this.audio.currentTime;
      for (const [i, freq] of tones.entries()) {
        const at = now + i * step;
        const osc = this.audio.createOscillator();
        const gain = this.audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(loud, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + step - 0.01);
        osc.connect(gain).connect(this.audio.destination);
        osc.start(at);
        osc.stop(at + step);
      }
    } catch {
      // no audio: the badge, the title and the notification still tell
    }
  }

  // -- cases arriving ------------------------------------------------------------------

  /** Cases new in the staff member's queues: rows of the queue snapshot; describe(row) -> text. */
  arrived(rows, describe) {
    if (!rows.length) return;
    for (const row of rows) this.arrivals.set(row.case, row.urgency);
    const top = Math.min(...rows.map((r) => r.urgency));
    const urgent = top <= URGENT_LEVEL;
    this.title();
    const quiet = this.availability === "away" || (this.availability === "paused" && !urgent);
    if (quiet) return;
    this.sound(urgent ? "urgent" : "arrival");
    this.notifyArrival(rows, top, describe);
    if (urgent) this.repeatWhileUrgent();
  }

  /** The cases waiting now: an arrival that left the queue (taken, moved) no longer alerts. */
  waiting(caseIds) {
    let changed = false;
    for (const id of [...this.arrivals.keys()]) {
      if (!caseIds.has(id)) changed = this.arrivals.delete(id) || changed;
    }
    if (!this.urgentWaiting()) this.stopRepeat();
    if (changed) this.title();
  }

  urgentWaiting() {
    return [...this.arrivals.values()].some((u) => u <= URGENT_LEVEL);
  }

  topArrival() {
    return Math.min(...this.arrivals.values());
  }

  // The staff member is at the console (a key or a pointer in the visible window): the sound
  // stops repeating and ordinary arrivals leave the title; urgent ones stay there until taken.
  acknowledge() {
    if (document.hidden || !this.arrivals.size) return;
    this.stopRepeat();
    for (const [id, urgency] of [...this.arrivals]) if (urgency > URGENT_LEVEL) this.arrivals.delete(id);
    this.title();
  }

  repeatWhileUrgent() {
    if (this.repeatTimer) return;
    const until = Date.now() + REPEAT_FOR_MS;
    this.repeatTimer = setInterval(() => {
      if (!this.urgentWaiting() || Date.now() > until) return this.stopRepeat();
      this.sound("urgent");
    }, REPEAT_MS);
  }

  stopRepeat() {
    clearInterval(this.repeatTimer);
    this.repeatTimer = null;
  }

  // -- desktop notifications -----------------------------------------------------------

  get notifySupported() {
    return typeof Notification !== "undefined";
  }

  notifyOn() {
    return this.notifySupported && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
  }

  notifyArrival(rows, top, describe) {
    if (!this.notifyOn()) return;
    const urgent = top <= URGENT_LEVEL;
    const first = rows.reduce((a, b) => (b.urgency < a.urgency ? b : a));
    const heading = urgent
      ? this.t("notify_urgent", { n: top })
      : rows.length === 1
        ? this.t("notify_new")
        : this.t("notify_new_n", { n: rows.length });
    try {
      const note = new Notification(heading, {
        body: describe(first),
        tag: urgent ? "direkt-urgent" : "direkt-queue",
        renotify: true,
        requireInteraction: urgent,
        lang: this.i18n.lang,
        icon: "/shared/icon.svg",
      });
      note.addEventListener("click", () => {
        window.focus();
        this.onOpenQueue();
        note.close();
      });
    } catch {
      // a browser that refuses notifications here: the sound and the title still tell
    }
  }

  // A checkbox for the queue: desktop notifications on or off, asking the browser's
  // permission the first time. The choice survives a reload.
  buildControl() {
    this.notifyBox = h("input", { type: "checkbox", id: "notify-on", "aria-describedby": "notify-hint" });
    this.notifyLabel = h("label", { for: "notify-on" });
    this.notifyHint = h("p", { id: "notify-hint", class: "hint" });
    this.notifyBox.addEventListener("change", () => this.onNotifyToggle());
    this.control = h("div", { class: "qalerts" }, h("div", { class: "check" }, this.notifyBox, this.notifyLabel), this.notifyHint);
    this.renderControl();
  }

  async onNotifyToggle() {
    if (!this.notifyBox.checked) {
      localStorage.setItem(NOTIFY_KEY, "off");
      return this.renderControl();
    }
    let permission = Notification.permission;
    if (permission === "default") permission = await Notification.requestPermission().catch(() => "denied");
    localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
    this.renderControl();
  }

  renderControl() {
    this.control.hidden = !this.notifySupported;
    if (!this.notifySupported) return;
    const denied = Notification.permission === "denied";
    this.notifyBox.checked = this.notifyOn();
    this.notifyLabel.textContent = this.t("notify_label");
    this.notifyHint.textContent = denied ? this.t("notify_denied") : this.t("notify_hint");
    this.notifyHint.classList.toggle("warnhint", denied);
  }

  // -- the window title ----------------------------------------------------------------

  setUnread(n) {
    this.unread = n;
    this.title();
  }

  arrivalText() {
    if (!this.arrivals.size) return "";
    const top = this.topArrival();
    if (top <= URGENT_LEVEL) return this.t("title_urgent", { n: top });
    return this.arrivals.size === 1 ? this.t("title_arrival") : this.t("title_arrival_n", { n: this.arrivals.size });
  }

  title() {
    const base = this.i18n.t("app_title");
    const arrival = this.arrivalText();
    const counted = `${this.unread > 0 ? `(${this.unread}) ` : ""}${arrival ? `${arrival} – ` : ""}${base}`;
    document.title = counted;
    clearInterval(this.flashTimer);
    this.flashTimer = null;
    if ((this.unread > 0 || arrival) && document.hidden) {
      const flash = `● ${arrival || this.i18n.t("title_flash")}`;
      let on = true;
      this.flashTimer = setInterval(() => {
        on = !on;
        document.title = on ? counted : flash;
      }, 1500);
    }
  }
}

