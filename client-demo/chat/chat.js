// The chat itself: the message log, the composer (text and photos), sent/read
// marks, typing, the end of the chat and the transcript download.

import { clear, clock, h } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { LogFollower } from "./follow.js";

const STAFF_ROLES = new Set(["nurse", "doctor", "administrator"]);
const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const MAX_PHOTO = 8 * 1024 * 1024;
// A refused upload in the citizen's words, by the server's typed code (never its English message).
const PHOTO_REFUSALS = {
  too_large: "chat.photo.bad",
  photo_rejected: "chat.photo.unreadable",
  head_too_large: "chat.photo.failed",
  bad_request: "chat.photo.failed",
  conflict: "chat.photo.closed",
};
const TYPING_EVERY_MS = 3000; // resend "typing on" at most this often
const TYPING_IDLE_MS = 4000; // "typing off" after this long without a key
const TYPING_SHOWN_MS = 10000; // hide the other side's indicator if it never says "off"

export class ChatView {
  constructor(screen) {
    this.screen = screen;
    this.app = screen.app;
    this.caseId = screen.caseId;
    this.items = []; // in stream order; unacknowledged own messages last
    this.byId = new Map();
    this.byCid = new Map();
    this.readUpTo = ""; // the other side has read up to here
    this.lastOther = ""; // the newest entry from the other side
    this.sentRead = ""; // what we last told them we have read
    this.readyNotice = false;
    this.root = null;
    this.log = null;
    this.photo = null; // {file, url}
    this.photoError = "";
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
    this.dropPhoto();
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
    this.log = this.logElement();
    this.typingEl = h("p", { class: "typing", id: "typing" });
    this.root = h(
      "section",
      { class: "chat" },
      h("div", { class: "chat-head" }, heading),
      ready,
      this.closed ? null : this.screen.call.element(),
      closed,
      h("p", { class: "visually-hidden", id: "log-label" }, t("chat.log")),
      this.follower.wrap(this.log),
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
    const unread = (item) => !item.own && item.id && compareIds(item.id, this.readBefore) > 0;
    const first = this.readBefore ? this.items.find(unread) : null;
    if (!first?.el) return this.follower.landOn(null);
    const mark = h("p", { class: "unread-mark" }, h("span", {}, this.app.t("chat.unread")));
    first.el.before(mark);
    this.follower.landOn(mark);
  }

  logElement() {
    const log = h("div", {
      class: "log",
      id: "log",
      role: "log",
      "aria-live": "polite",
      "aria-labelledby": "log-label",
      tabindex: "0",
    });
    for (const item of this.items) {
      item.el = this.itemEl(item);
      log.append(item.el);
    }
    return log;
  }

  // The chat so far, read-only, for the waiting room after a transfer or a return to the queue.
  history() {
    const { t } = this.app;
    this.log = this.logElement();
    return h(
      "section",
      { class: "history", "aria-labelledby": "history-heading" },
      h("h3", { id: "history-heading" }, t("waiting.history")),
      h("p", { class: "visually-hidden", id: "log-label" }, t("chat.log")),
      this.log,
    );
  }

  unmount() {
    this.root = null;
    this.log = null;
    for (const item of this.items) item.el = null;
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
    const fileInput = h("input", {
      type: "file",
      id: "photo-input",
      class: "file-input",
      accept: "image/jpeg,image/png,image/webp",
      onchange: (e) => this.choosePhoto(e.target),
    });
    this.previewEl = h("div", { class: "photo-step", id: "photo-step" });
    const form = h(
      "form",
      { class: "composer", novalidate: true, onsubmit: (e) => (e.preventDefault(), this.sendText()) },
      h("label", { for: "message" }, t("chat.message")),
      textarea,
      enterSends ? h("p", { class: "hint", id: "message-hint" }, t("chat.message.hint")) : null,
      h(
        "div",
        { class: "composer-actions" },
        h("div", { class: "attach" }, fileInput, h("label", { for: "photo-input", class: "button" }, t("chat.photo.attach"))),
        h("button", { type: "submit", class: "primary send" }, t("chat.send")),
      ),
      this.previewEl,
    );
    this.renderPhotoStep();
    return form;
  }

  scrollDown() {
    if (this.log) this.log.scrollTop = this.log.scrollHeight;
  }

  // The reader sees the newest entries: the log is at its end (or not shown at all yet).
  get atEnd() {
    return !this.mounted || this.follower.atEnd;
  }

  // -- messages -----------------------------------------------------------------------------

  reset() {
    this.items = [];
    this.byId.clear();
    this.byCid.clear();
    this.lastOther = "";
    this.sentRead = "";
    if (this.log) clear(this.log);
  }

  add(frame) {
    if (frame.staff_only || this.byId.has(frame.id)) return;
    const own = frame.from === this.app.me?.uid;
    const mine = own && frame.cid ? this.byCid.get(frame.cid) : null;
    if (mine) {
      // our own message came back from the stream: it is stored
      if (!mine.id) {
        mine.id = frame.id;
        this.byId.set(frame.id, mine);
      }
      if (mine.status === "sending") mine.status = "sent";
      this.updateStatus(mine);
      return;
    }
    const item = { id: frame.id, cid: frame.cid || "", frame, own, status: own ? "sent" : "" };
    let index = this.items.findIndex((other) => !other.id || compareIds(other.id, frame.id) > 0);
    if (index < 0) index = this.items.length;
    this.items.splice(index, 0, item);
    this.byId.set(frame.id, item);
    if (own && frame.cid) this.byCid.set(frame.cid, item);
    if (own) this.applyRead(item);
    else {
      this.lastOther = frame.id;
      if (frame.k !== "system") this.setTyping("");
    }
    if (this.log) {
      item.el = this.itemEl(item);
      this.log.insertBefore(item.el, this.items[index + 1]?.el || null);
      if (this.mounted) this.follower.added(own);
      else this.scrollDown();
      this.markRead();
    }
  }

  roleText(item) {
    const { t } = this.app;
    const f = item.frame;
    if (f.k === "system" || f.role === "system") return t("role.system");
    if (item.own) return t("you");
    return t(STAFF_ROLES.has(f.role) ? `role.${f.role}` : "role.staff");
  }

  itemEl(item) {
    const { t, i18n } = this.app;
    const f = item.frame;
    const system = f.k === "system";
    const text = system ? (i18n.lang === "en" && f.text_en) || f.text || "" : f.text || "";
    const name = system ? t("system.name") : f.name || (item.own ? this.app.me?.name : "") || "";
    const when = f.ts ? new Date(f.ts) : null;
    let photo = null;
    if (f.k === "photo" && f.photo) {
      photo = h("img", {
        class: "photo",
        src: `/api/cases/${encodeURIComponent(this.caseId)}/photos/${encodeURIComponent(f.photo)}`,
        alt: item.own ? t("chat.photo.alt.own") : t("chat.photo.alt", { name }),
      });
    }
    const classes = ["msg", system ? "system" : item.own ? "own" : "other"];
    return h(
      "div",
      { class: classes.join(" "), dataset: item.id ? { id: item.id } : {} },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "name" }, name),
        h("span", { class: "visually-hidden" }, ", "),
        h("span", { class: "role" }, this.roleText(item)),
        when ? h("span", { class: "visually-hidden" }, ", ") : null,
        when ? h("time", { datetime: when.toISOString() }, clock(f.ts, i18n.lang)) : null,
      ),
      photo,
      text ? h("p", { class: "text" }, text) : null,
      item.own ? h("p", { class: "status" }, this.statusText(item)) : null,
    );
  }

  statusText(item) {
    const { t } = this.app;
    switch (item.status) {
      case "sending":
        return t("chat.sending");
      case "read":
        return t("chat.read");
      case "failed":
        return t("chat.failed", { reason: item.error || t("error.generic") });
      default:
        return t("chat.sent");
    }
  }

  updateStatus(item) {
    const status = item.el?.querySelector(".status");
    if (status) {
      const text = this.statusText(item);
      if (status.textContent !== text) status.textContent = text;
      item.el.classList.toggle("failed", item.status === "failed");
    }
    if (item.el && item.id && !item.el.dataset.id) item.el.dataset.id = item.id;
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

  sendFrame(fields, shown) {
    const me = this.app.me || {};
    const { cid, stored } = this.app.hub.send(this.caseId, fields);
    const frame = { ...shown, from: me.uid, name: me.name, role: "citizen", ts: Date.now(), cid };
    const item = { id: "", cid, frame, own: true, status: "sending" };
    this.items.push(item);
    this.byCid.set(cid, item);
    if (this.log) {
      item.el = this.itemEl(item);
      this.log.append(item.el);
      this.follower.added(true);
    }
    stored.then(
      (ack) => {
        if (!item.id) {
          item.id = ack.id;
          this.byId.set(ack.id, item);
        }
        if (item.status === "sending") item.status = "sent";
        this.applyRead(item);
        this.updateStatus(item);
      },
      (err) => {
        item.status = "failed";
        item.error = err.message;
        this.updateStatus(item);
      },
    );
  }

  // -- read marks and typing ---------------------------------------------------------------

  onRead(frame) {
    if (frame.from === this.app.me?.uid) return;
    if (this.readUpTo && compareIds(frame.id, this.readUpTo) <= 0) return;
    this.readUpTo = frame.id;
    for (const item of this.items) if (item.own && this.applyRead(item)) this.updateStatus(item);
  }

  applyRead(item) {
    if (item.status !== "sent" || !item.id || !this.readUpTo) return false;
    if (compareIds(item.id, this.readUpTo) > 0) return false;
    item.status = "read";
    return true;
  }

  // Tell the other side what we have seen, when the page is actually visible.
  markRead() {
    if (!this.mounted || document.visibilityState !== "visible" || !this.lastOther) return;
    if (this.sentRead && compareIds(this.lastOther, this.sentRead) <= 0) return;
    if (this.app.hub.state !== "open") return;
    this.sentRead = this.lastOther;
    this.app.hub.read(this.caseId, this.lastOther);
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

  // -- photos -------------------------------------------------------------------------------

  choosePhoto(input) {
    const file = input.files && input.files[0];
    input.value = "";
    this.dropPhoto();
    this.photoError = "";
    if (!file) return this.renderPhotoStep();
    if (!PHOTO_TYPES.has(file.type) || file.size > MAX_PHOTO) {
      this.photoError = this.app.t("chat.photo.bad");
      return this.renderPhotoStep();
    }
    this.photo = { file, url: URL.createObjectURL(file), uploading: false };
    this.renderPhotoStep();
    this.previewEl?.querySelector("button.primary")?.focus();
  }

  dropPhoto() {
    if (this.photo) URL.revokeObjectURL(this.photo.url);
    this.photo = null;
  }

  renderPhotoStep() {
    if (!this.previewEl) return;
    const { t } = this.app;
    if (!this.photo) {
      clear(this.previewEl, this.photoError ? h("p", { class: "banner danger", role: "alert" }, this.photoError) : null);
      return;
    }
    const busy = this.photo.uploading;
    clear(
      this.previewEl,
      h(
        "figure",
        { class: "preview" },
        h("img", { src: this.photo.url, alt: t("chat.photo.preview") }),
        h("figcaption", {}, this.photo.file.name),
      ),
      this.photoError ? h("p", { class: "banner danger", role: "alert" }, this.photoError) : null,
      busy ? h("p", { role: "status" }, t("chat.photo.uploading")) : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", disabled: busy, onclick: () => this.sendPhoto() }, t("chat.photo.send")),
        h(
          "button",
          {
            type: "button",
            disabled: busy,
            onclick: () => {
              this.dropPhoto();
              this.renderPhotoStep();
              this.root?.querySelector("#photo-input")?.focus();
            },
          },
          t("chat.photo.remove"),
        ),
      ),
    );
  }

  async sendPhoto() {
    if (!this.photo || this.photo.uploading) return;
    const { file } = this.photo;
    this.photo.uploading = true;
    this.photoError = "";
    this.renderPhotoStep();
    try {
      const stored = await this.app.api.call("POST", `/api/cases/${encodeURIComponent(this.caseId)}/photos`, file, {
        raw: true,
        contentType: file.type,
      });
      this.dropPhoto();
      this.renderPhotoStep();
      this.restoreTitle();
      this.sendFrame({ photo: stored.photo }, { k: "photo", photo: stored.photo, text: "" });
      this.root?.querySelector("#message")?.focus();
    } catch (err) {
      if (this.photo) this.photo.uploading = false;
      this.photoError = this.photoRefusal(err);
      this.renderPhotoStep();
    }
  }

  photoRefusal(err) {
    const status = err && err.status;
    if (!status || status >= 500 || status === 401) return this.app.errorText(err);
    return this.app.t(PHOTO_REFUSALS[err.code] || "chat.photo.failed");
  }

  // -- the transcript as a text file ----------------------------------------------------------

  // The transcript comes a page at a time: ask on from `next` (in the same epoch) until it is null.
  async readTranscript() {
    const path = `/api/cases/${encodeURIComponent(this.caseId)}/transcript`;
    const messages = [];
    let page = await this.app.api.call("GET", path);
    messages.push(...page.messages);
    while (page.next) {
      const query = new URLSearchParams({ after: page.next, epoch: page.epoch });
      page = await this.app.api.call("GET", `${path}?${query}`);
      messages.push(...page.messages);
    }
    return messages;
  }

  // What the conversation was, in words a person knows it by: when it began, where, about what
  // (and for whom, when a guardian writes for a child), not the internal case id.
  transcriptHeader(stamp) {
    const { t, i18n } = this.app;
    const file = this.screen.file || {};
    const unit = this.screen.unitName || this.screen.queue?.unit_name || "";
    const reason = file.reason?.label ? i18n.pick(file.reason.label) : "";
    const me = this.app.me;
    const forOther = file.patient_name && me && file.patient_name !== me.name;
    return [
      t("transcript.title"),
      file.created_ms ? t("transcript.started", { date: stamp(file.created_ms) }) : null,
      unit ? t("transcript.unit", { unit }) : null,
      reason ? t("transcript.reason", { reason }) : null,
      forOther ? t("transcript.patient", { name: file.patient_name }) : null,
      t("transcript.saved", { date: stamp(Date.now()) }),
    ].filter(Boolean);
  }

  async download() {
    const { t, i18n } = this.app;
    try {
      const messages = await this.readTranscript();
      const stamp = (ms) =>
        new Date(ms).toLocaleString(i18n.lang === "en" ? "en-GB" : "sv-SE", { timeZone: "Europe/Stockholm" });
      const lines = [...this.transcriptHeader(stamp), ""];
      for (const m of messages) {
        if (m.staff_only) continue;
        const item = { frame: m, own: m.from === this.app.me?.uid };
        const system = m.k === "system";
        const who = system ? t("system.name") : `${m.name || ""} (${this.roleText(item)})`;
        let text = system ? (i18n.lang === "en" && m.text_en) || m.text || "" : m.text || "";
        if (m.k === "photo") text = [t("transcript.photo"), text].filter(Boolean).join(" ");
        lines.push(`[${m.ts ? stamp(m.ts) : ""}] ${who}: ${text}`);
      }
      // The case id only at the end, named as what it is for: quoting it to support.
      lines.push("", t("transcript.reference", { case: this.caseId }));
      const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/plain;charset=utf-8" });
      const url = URL.createObjectURL(blob);
      const day = new Date().toISOString().slice(0, 10);
      const link = h("a", { href: url, download: `1177-direkt-samtal-${day}.txt`, class: "visually-hidden" }, "download");
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
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
