// The chat screen: the heading, the message log (log.js) and where it scrolls
// (follow.js), the composer with photos (photo.js), telling the other side what
// was read and that the citizen is typing, the end of the chat and the transcript
// download (transcript.js).

import { clear, h } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { LogFollower } from "./follow.js";
import { ChatLog } from "./log.js";
import { PhotoStep } from "./photo.js";
import { readTranscript, saveTextFile, transcriptText } from "./transcript.js";

const TYPING_EVERY_MS = 3000; // resend "typing on" at most this often
const TYPING_IDLE_MS = 4000; // "typing off" after this long without a key
const TYPING_SHOWN_MS = 10000; // hide the other side's indicator if it never says "off"

export class ChatView {
  constructor(screen) {
    this.screen = screen;
    this.app = screen.app;
    this.caseId = screen.caseId;
    this.log = new ChatLog(this.app, this.caseId);
    this.sentRead = ""; // what we last told them we have read
    this.readyNotice = false;
    this.root = null;
    this.photoStep = new PhotoStep(this);
    this.downloadError = "";
    this.typingTimer = null;
    this.typingRole = "";
    this.myTyping = false;
    this.typingSentAt = 0;
    this.idleTimer = null;
    this.readBefore = ""; // read up to here before this page opened (the server keeps it: the join's synced)
    this.replayed = false; // the join's replay is complete: the first unread entry is known
    this.landed = false;
    this.follower = new LogFollower(
      (n) => this.app.t("chat.new", { n }),
      () => this.markRead(),
    );
    this.onVisibility = () => this.markRead();
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  destroy() {
    document.removeEventListener("visibilitychange", this.onVisibility);
    clearTimeout(this.typingTimer);
    clearTimeout(this.idleTimer);
    this.photoStep.drop();
  }

  get closed() {
    return this.screen.state === "closed";
  }

  // -- building the screen ------------------------------------------------------------------

  mount(main) {
    const { t } = this.app;
    const draft = this.root?.querySelector("#message")?.value || "";
    const heading = h("h2", { id: "chat-heading" }, this.headingText());
    const closed = this.closed
      ? h(
          "section",
          { class: "closed-panel", "aria-labelledby": "closed-heading" },
          h("h2", { id: "closed-heading", "data-autofocus": "" }, t("chat.closed.heading")),
          this.screen.outcome && this.screen.outcome !== "closed"
            ? h("p", { class: "outcome" }, t("chat.closed.outcome", { outcome: this.outcomeText() }))
            : null,
          h("p", {}, t("chat.closed.text")),
          h("button", { type: "button", class: "primary", onclick: () => this.app.toEntry() }, t("again")),
        )
      : null;
    const ready =
      this.readyNotice && !this.closed
        ? h(
            "p",
            { class: "banner ok ready-notice", role: "alert" },
            t("ready.notice", { who: this.screen.staffWho() }),
          )
        : null;
    const log = this.log.build();
    this.typingEl = h("p", { class: "typing", id: "typing" });
    this.root = h(
      "section",
      { class: "chat" },
      h("div", { class: "chat-head" }, heading),
      ready,
      this.closed ? null : this.screen.call.element(),
      closed,
      h("p", { class: "visually-hidden", id: "log-label" }, t("chat.log")),
      this.follower.wrap(log),
      this.typingEl,
      this.closed ? null : this.composer(draft),
      // below the chat, not above it: on a phone every line above the log pushes the composer down
      h(
        "div",
        { class: "chat-foot" },
        h(
          "button",
          { type: "button", class: "download", id: "download", onclick: () => this.download() },
          t("chat.download"),
        ),
        this.downloadError ? h("p", { class: "banner danger", role: "alert" }, this.downloadError) : null,
      ),
    );
    clear(main, this.root);
    this.showTyping();
    if (this.replayed && !this.landed) this.land();
    else this.follower.restore();
    this.markRead();
  }

  // The join's replay is complete (the first time): open on the first unread entry.
  synced(frame) {
    if (this.replayed) return;
    this.replayed = true;
    this.readBefore = frame.read || "";
    if (this.mounted) this.land();
  }

  // Open the log on the first entry from the other side not read before (on any device),
  // marked "new messages"; at the end when there is none.
  land() {
    this.landed = true;
    const first = this.readBefore ? this.log.firstOtherAfter(this.readBefore) : null;
    if (!first?.el) return this.follower.landOn(null);
    const mark = h("p", { class: "unread-mark" }, h("span", {}, this.app.t("chat.unread")));
    first.el.before(mark);
    this.follower.landOn(mark);
  }

  // The chat so far, read-only, for the waiting room after a transfer or a return to the queue.
  history() {
    const { t } = this.app;
    const log = this.log.build();
    return h(
      "section",
      { class: "history", "aria-labelledby": "history-heading" },
      h("h3", { id: "history-heading" }, t("waiting.history")),
      h("p", { class: "visually-hidden", id: "log-label" }, t("chat.log")),
      log,
    );
  }

  unmount() {
    this.root = null;
    this.log.detach();
  }

  get mounted() {
    return Boolean(this.root && this.root.isConnected);
  }

  headingText() {
    const { t } = this.app;
    const name = this.screen.staffName;
    const unit = this.screen.unitName || this.screen.queue?.unit_name || "";
    const role = this.screen.professionText("profession");
    if (name && unit && role) return t("chat.with.role", { name, role, unit });
    if (name && unit) return t("chat.with", { name, unit });
    if (name) return t("chat.with.staff", { name });
    return t("chat.heading");
  }

  refreshHeading() {
    const heading = this.root?.querySelector("#chat-heading");
    if (heading) heading.textContent = this.headingText();
  }

  outcomeText() {
    const key = `outcome.${this.screen.outcome}`;
    const text = this.app.t(key);
    return text === key ? this.screen.outcome : text;
  }

  composer(draft) {
    const { t } = this.app;
    // On a touch screen Enter gives a new line, as on the phone's own keyboard; the button sends.
    const enterSends = !window.matchMedia("(pointer: coarse)").matches;
    const textarea = h("textarea", {
      id: "message",
      name: "message",
      rows: "3",
      maxlength: "4000",
      "aria-describedby": enterSends ? "message-hint" : null,
      onkeydown: (e) => {
        if (enterSends && e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.sendText();
        }
      },
      oninput: () => this.typed(),
    });
    textarea.value = draft;
    return h(
      "form",
      { class: "composer", novalidate: true, onsubmit: (e) => (e.preventDefault(), this.sendText()) },
      h("label", { for: "message" }, t("chat.message")),
      textarea,
      enterSends ? h("p", { class: "hint", id: "message-hint" }, t("chat.message.hint")) : null,
      h(
        "div",
        { class: "composer-actions" },
        this.photoStep.attachControl(),
        h("button", { type: "submit", class: "primary send" }, t("chat.send")),
      ),
      this.photoStep.build(),
    );
  }

  scrollDown() {
    if (this.log.el) this.log.el.scrollTop = this.log.el.scrollHeight;
  }

  // The reader sees the newest entries: the log is at its end (or not shown at all yet).
  get atEnd() {
    return !this.mounted || this.follower.atEnd;
  }

  // -- messages -----------------------------------------------------------------------------

  reset() {
    this.log.reset();
    this.sentRead = "";
  }

  add(frame) {
    const item = this.log.add(frame);
    if (!item) return;
    if (!item.own && frame.k !== "system") this.setTyping("");
    if (this.log.el) {
      if (this.mounted) this.follower.added(item.own);
      else this.scrollDown();
      this.markRead();
    }
  }

  sendText() {
    const textarea = this.root?.querySelector("#message");
    if (!textarea || this.closed) return;
    const text = textarea.value.trim();
    if (!text) return;
    textarea.value = "";
    this.stopTyping();
    this.restoreTitle();
    this.dismissReady();
    this.sendFrame({ text }, { k: "text", text });
    textarea.focus();
  }

  // A message of the citizen's (text or photo): shown at once, marked sent once stored.
  sendFrame(fields, shown) {
    const me = this.app.me || {};
    const { cid, stored } = this.app.hub.send(this.caseId, fields);
    const frame = { ...shown, from: me.uid, name: me.name, role: "citizen", ts: Date.now(), cid };
    if (this.log.addOwn(cid, stored, frame)) this.follower.added(true);
  }

  // -- read marks and typing ---------------------------------------------------------------

  onRead(frame) {
    if (frame.from === this.app.me?.uid) return;
    this.log.readTo(frame.id);
  }

  // Tell the other side what we have seen, when the page is actually visible.
  markRead() {
    const lastOther = this.log.lastOther;
    if (!this.mounted || document.visibilityState !== "visible" || !lastOther) return;
    if (this.sentRead && compareIds(lastOther, this.sentRead) <= 0) return;
    if (this.app.hub.state !== "open") return;
    this.sentRead = lastOther;
    this.app.hub.read(this.caseId, lastOther);
  }

  onTyping(frame) {
    if (frame.from === this.app.me?.uid) return;
    this.setTyping(frame.on ? frame.role || "staff" : "");
  }

  setTyping(role) {
    this.typingRole = role;
    clearTimeout(this.typingTimer);
    if (role) this.typingTimer = setTimeout(() => this.setTyping(""), TYPING_SHOWN_MS);
    this.showTyping();
  }

  showTyping() {
    if (!this.typingEl) return;
    const role = this.typingRole;
    const key = !role ? "" : role === "nurse" || role === "doctor" ? `chat.typing.${role}` : "chat.typing.other";
    this.typingEl.textContent = key && !this.closed ? this.app.t(key) : "";
  }

  typed() {
    const textarea = this.root?.querySelector("#message");
    const has = Boolean(textarea && textarea.value.trim());
    this.restoreTitle();
    clearTimeout(this.idleTimer);
    if (!has) return this.stopTyping();
    const now = Date.now();
    if (!this.myTyping || now - this.typingSentAt > TYPING_EVERY_MS) {
      this.app.hub.typing(this.caseId, true);
      this.myTyping = true;
      this.typingSentAt = now;
    }
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (!this.myTyping) return;
    this.myTyping = false;
    this.app.hub.typing(this.caseId, false);
  }

  // Once the citizen has written, the "your chat is ready" notice has done its job.
  dismissReady() {
    if (!this.readyNotice) return;
    this.readyNotice = false;
    this.root?.querySelector(".ready-notice")?.remove();
  }

  restoreTitle() {
    if (document.title.startsWith("(1)")) document.title = this.app.t("app.title");
  }

  // -- the transcript as a text file ----------------------------------------------------------

  // What the transcript's heading names (transcript.js words it): when the contact began, where,
  // about what, and for whom when it is not the citizen writing (a guardian for a child).
  transcriptAbout() {
    const file = this.screen.file || {};
    const me = this.app.me;
    return {
      started: file.created_ms || 0,
      unit: this.screen.unitName || this.screen.queue?.unit_name || "",
      reason: file.reason?.label ? this.app.i18n.pick(file.reason.label) : "",
      patient: file.patient_name && me && file.patient_name !== me.name ? file.patient_name : "",
    };
  }

  async download() {
    const { t, i18n } = this.app;
    try {
      const messages = await readTranscript(this.app.api, this.caseId);
      const now = Date.now();
      const about = this.transcriptAbout();
      const me = this.app.me?.uid;
      const text = transcriptText(messages, { t, lang: i18n.lang, caseId: this.caseId, me, now, about });
      const slug = (name) => name.toLowerCase().replace(/[^a-z0-9åäö]+/g, "-").replace(/^-|-$/g, "") || "chatt";
      const date = new Date(now).toISOString().slice(0, 10);
      saveTextFile(text, t("transcript.file", { short_name: slug(i18n.globals.short_name), date }));
      if (this.downloadError) {
        this.downloadError = "";
        this.mount(this.app.main);
      }
    } catch {
      this.downloadError = t("transcript.failed");
      this.mount(this.app.main);
    }
  }
}
