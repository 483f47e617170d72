// How the chat log scrolls. It follows new entries while the reader is at the
// end, also when a photo's height arrives after the entry was shown; it opens on
// the first unread entry and keeps it in place while photos above it load; and
// when entries arrive while the reader has scrolled up, it leaves the reader
// where they are and offers a button down to them.

import { h } from "../shared/dom.js";

const NEAR_END_PX = 40; // this close to the end counts as reading the newest entries
const USER_SCROLLS = ["wheel", "touchmove", "keydown", "pointerdown"];

export class LogFollower {
  // label(n) -> the button's text; onEnd() -> the reader has reached the end.
  constructor(label, onEnd) {
    this.label = label;
    this.onEnd = onEnd;
    this.atEnd = true;
    this.anchor = null; // the entry the log opened on, held in view until the reader scrolls
    this.unseen = 0;
    this.log = null;
    this.button = null;
    this.lastTop = 0;
    this.seenTop = 0; // scrollTop at the last scroll event: less now means the reader moved up
  }

  // A fresh log element (each render makes one), with the "new messages" button beside it.
  wrap(log) {
    this.lastTop = this.log ? this.log.scrollTop : 0;
    this.log = log;
    this.unseen = 0;
    log.addEventListener("scroll", () => this.scrolled(), { passive: true });
    for (const type of USER_SCROLLS) log.addEventListener(type, () => (this.anchor = null), { passive: true });
    // a photo got its height: `load` does not bubble, so listen while it goes down
    log.addEventListener("load", () => this.settle(), true);
    this.button = h("button", { type: "button", class: "to-new", hidden: true, onclick: () => this.down() });
    return h("div", { class: "log-wrap" }, log, this.button);
  }

  // After a re-render: where the reader was (the end, or the same place).
  restore() {
    if (!this.log) return;
    if (this.anchor && this.log.contains(this.anchor)) this.show(this.anchor);
    else if (this.atEnd) this.toEnd();
    else this.log.scrollTop = this.lastTop;
  }

  // An entry was put in the log: follow it if the reader is at the end (always for their own).
  added(own) {
    if (own) {
      this.anchor = null;
      this.toEnd();
    } else if (this.atEnd) {
      this.anchor = null; // the reader has seen the end, the entry they opened on with it
      this.toEnd();
    } else {
      this.unseen += 1;
      this.showButton();
    }
  }

  // Open on this entry (the first unread), or at the end without one.
  landOn(el) {
    this.anchor = el || null;
    if (el) this.show(el);
    else this.toEnd();
  }

  settle() {
    if (this.anchor) this.show(this.anchor);
    else if (this.atEnd) this.toEnd();
  }

  show(el) {
    const log = this.log;
    if (!log || !log.contains(el)) return;
    log.scrollTop += el.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    this.moved(this.nearEnd());
  }

  toEnd() {
    if (!this.log) return;
    this.log.scrollTop = this.log.scrollHeight;
    this.moved(true);
  }

  down() {
    this.anchor = null;
    this.toEnd();
    this.log?.focus();
  }

  // Only the reader moving up leaves the end. Content that grows (a photo's height arriving)
  // between our scroll to the end and its scroll event must not count as the reader leaving.
  scrolled() {
    const top = this.log.scrollTop;
    if (this.nearEnd()) this.moved(true);
    else if (top < this.seenTop - 1) this.moved(false);
    this.seenTop = top;
    if (this.atEnd) this.onEnd();
  }

  nearEnd() {
    const log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_END_PX;
  }

  moved(atEnd) {
    this.atEnd = atEnd;
    this.seenTop = this.log.scrollTop;
    if (atEnd) this.unseen = 0;
    this.showButton();
  }

  showButton() {
    if (!this.button) return;
    const show = this.unseen > 0 && !this.atEnd;
    this.button.hidden = !show;
    if (show) this.button.textContent = this.label(this.unseen);
  }
}
