// Toasts (a role="status" region), a short sound and the unread count in the
// window title, flashing while the window is in the background.

import { h } from "../shared/dom.js";

const TOAST_MS = 9000;
const MAX_TOASTS = 4;

export class Alerts {
  constructor(i18n, region) {
    this.i18n = i18n;
    this.region = region;
    this.unread = 0;
    this.flashTimer = null;
    this.audio = null;
    document.addEventListener("visibilitychange", () => this.title());
    i18n.addEventListener("change", () => this.title());
  }

  toast(text, kind = "info") {
    const el = h("p", { class: `toast ${kind}` }, text);
    this.region.append(el);
    while (this.region.children.length > MAX_TOASTS) this.region.firstElementChild.remove();
    setTimeout(() => el.remove(), TOAST_MS);
  }

  // A soft two-tone chime; silently nothing where audio is not allowed yet.
  sound() {
    try {
      this.audio = this.audio || new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
      const now = this.audio.currentTime;
      for (const [i, freq] of [660, 880].entries()) {
        const osc = this.audio.createOscillator();
        const gain = this.audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.15);
        gain.gain.exponentialRampToValueAtTime(0.12, now + i * 0.15 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.15 + 0.14);
        osc.connect(gain).connect(this.audio.destination);
        osc.start(now + i * 0.15);
        osc.stop(now + i * 0.15 + 0.15);
      }
    } catch {
      // no audio: the badge and the title still tell
    }
  }

  setUnread(n) {
    this.unread = n;
    this.title();
  }

  title() {
    const base = this.i18n.t("app_title");
    const counted = this.unread > 0 ? `(${this.unread}) ${base}` : base;
    document.title = counted;
    clearInterval(this.flashTimer);
    this.flashTimer = null;
    if (this.unread > 0 && document.hidden) {
      let on = true;
      this.flashTimer = setInterval(() => {
        on = !on;
        document.title = on ? counted : `● ${this.i18n.t("title_flash")}`;
      }, 1500);
    }
  }
}
