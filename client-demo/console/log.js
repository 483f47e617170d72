// One chat's message log: the entries in stream order with the nurse's own
// pending ones last, read marks, photos (a thumbnail opens full size), and where
// the log stands: it follows its end until the nurse scrolls up, opens on the
// first entry not seen yet under a "new messages" divider, and offers a button
// down to entries that arrived while the nurse had scrolled up.

import { h, clear, clock } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";

const AT_END_PX = 48; // this close to the end counts as reading the newest entries

export class MessageLog {
  constructor(chat) {
    this.chat = chat;
    this.ctx = chat.ctx;
    this.messages = [];
    this.ids = new Set();
    this.msgEls = new Map();
    this.pending = new Map();
    this.firstUnread = ""; // the id of the oldest entry not yet seen, while the tab is not shown
    this.follow = true; // the log sticks to its end until the nurse scrolls up
    this.unseen = []; // ids of entries that arrived while the nurse had scrolled up
    this.landed = false;
    this.peerRead = "";
    this.historyWasLost = false;
    this.el = null;
    this.jumpButton = null;
  }

  t(key, values) {
    return this.chat.t(key, values);
  }

  // The log and its "new messages" button, built afresh with the panel (a language switch).
  build() {
    this.el = h("div", { role: "log", "aria-live": "polite", "aria-label": this.t("messages"), class: "log", tabindex: "0" });
    this.el.addEventListener("scroll", () => this.onScroll());
    this.jumpButton = h("button", { type: "button", class: "jump", hidden: true, onclick: () => this.jumpToUnseen() });
    return h("div", { class: "logwrap" }, this.el, this.jumpButton);
  }

  // -- entries -------------------------------------------------------------------------

  lastPeerId() {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (!this.chat.isOwn(this.messages[i])) return this.messages[i].id;
    }
    return "";
  }

  // A stored entry from the stream; seen: the nurse is looking at this log now.
  // Returns false for an entry already shown (a replay after a reconnect).
  add(m, { seen }) {
    if (this.ids.has(m.id)) return false;
    this.ids.add(m.id);
    this.messages.push(m);
    const own = this.chat.isOwn(m);
    const stick = this.follow || own;
    if (m.cid && own && this.pending.has(m.cid)) {
      this.pending.get(m.cid).el.remove();
      this.pending.delete(m.cid);
    }
    this.el.insertBefore(this.messageEl(m), this.firstPendingEl());
    if (stick) this.scrollToEnd();
    else if (seen) this.markUnseen(m.id);
    if (own) this.renderReadMarks();
    return true;
  }

  // The nurse's message on its way (hub.send's cid and stored promise): pending until stored.
  addPending(cid, stored, { text, template }) {
    const entry = { cid, text, template, state: "sending", error: "" };
    entry.el = this.pendingEl(entry);
    this.pending.set(cid, entry);
    this.el.append(entry.el);
    this.scrollToEnd();
    const refresh = () => {
      if (this.pending.get(cid) !== entry) return;
      const el = this.pendingEl(entry);
      entry.el.replaceWith(el);
      entry.el = el;
    };
    stored.then(
      (ack) => {
        entry.state = "stored";
        entry.id = ack.id;
        refresh();
      },
      (err) => {
        entry.state = "failed";
        entry.error = err.message;
        refresh();
      },
    );
  }

  // The other side has read up to this id.
  peerReadUpTo(id) {
    if (!this.peerRead || compareIds(id, this.peerRead) > 0) this.peerRead = id;
    this.renderReadMarks();
  }

  resetHistory() {
    this.messages = [];
    this.ids.clear();
    this.msgEls.clear();
    this.historyWasLost = true;
    this.render();
  }

  // -- view ----------------------------------------------------------------------------

  render() {
    const items = [];
    if (this.historyWasLost) items.push(h("p", { class: "banner warn" }, this.t("history_lost")));
    this.msgEls.clear();
    for (const m of this.messages) items.push(this.messageEl(m));
    for (const entry of this.pending.values()) {
      entry.el = this.pendingEl(entry);
      items.push(entry.el);
    }
    clear(this.el, items);
    this.renderReadMarks();
    if (this.follow) this.scrollToEnd();
  }

  messageEl(m) {
    const lang = this.ctx.i18n.lang;
    const time = m.ts ? h("time", { datetime: new Date(m.ts).toISOString() }, clock(m.ts, lang)) : null;
    let el;
    if (m.k === "system") {
      const text = lang === "en" && m.text_en ? m.text_en : m.text;
      el = h("div", { class: "msg system" }, h("p", {}, text, " ", time));
    } else if (m.k === "note") el = this.noteEl(m, time);
    else el = this.chatEl(m, time);
    this.msgEls.set(m.id, el);
    return el;
  }

  // A staff-only note (a journal note, a transfer's note): never shown to the patient.
  noteEl(m, time) {
    const kind = m.code === "journal" ? this.t("note_journal") : m.code === "transfer" ? this.t("note_transfer") : "";
    return h(
      "div",
      { class: "msg note" },
      h("p", { class: "notehead" }, h("strong", {}, this.t("note_heading")), kind ? ` · ${kind}` : ""),
      h("p", { class: "meta" }, `${m.name || ""} (${this.chat.roleLabel(m.role)}) `, time),
      h("p", { class: "text" }, m.text || ""),
    );
  }

  chatEl(m, time) {
    const own = this.chat.isOwn(m);
    const sender = own ? this.t("you") : m.name || this.chat.roleLabel(m.role);
    const photo = m.k === "photo" && m.photo ? this.photoEl(m, own) : null;
    return h(
      "div",
      { class: `msg ${own ? "own" : "peer"}` },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "sender" }, sender),
        ` (${this.chat.roleLabel(m.role)}) `,
        time,
        m.k === "template" && m.tpl ? h("span", { class: "tpl", dataset: { tpl: m.tpl } }, this.templateLabel(m.tpl)) : null,
      ),
      photo,
      m.text ? h("p", { class: "text" }, m.text) : null,
      own ? h("p", { class: "status" }) : null,
    );
  }

  // A thumbnail that opens the photo full size, with zoom (Dialogs.photo).
  photoEl(m, own) {
    const src = `/api/cases/${encodeURIComponent(this.chat.case)}/photos/${encodeURIComponent(m.photo)}`;
    const alt = own ? this.t("photo_alt_own") : this.t("photo_alt", { name: m.name || this.chat.roleLabel(m.role) });
    return h(
      "button",
      {
        type: "button",
        class: "photo-open",
        "aria-label": `${alt}, ${this.t("photo_open")}`,
        onclick: (e) => this.ctx.dialogs.photo(src, alt, e.currentTarget),
      },
      h("img", {
        class: "photo",
        src,
        alt,
        // the photo grows the log after it was placed: a log that follows its end keeps doing so
        onload: () => this.follow && this.scrollToEnd(),
      }),
    );
  }

  // " · fras: Hälsning" by the phrase's title; a phrase this console cannot see: " · fras".
  templateLabel(id) {
    const title = this.ctx.templateTitle(id);
    return ` · ${title ? this.t("template_used", { title }) : this.t("template_used_unknown")}`;
  }

  relabelTemplates() {
    for (const span of this.el.querySelectorAll("[data-tpl]")) span.textContent = this.templateLabel(span.dataset.tpl);
  }

  pendingEl(entry) {
    const status =
      entry.state === "sending"
        ? this.t("sending")
        : entry.state === "failed"
          ? this.t("send_failed", { message: entry.error })
          : "";
    return h(
      "div",
      { class: `msg own pending ${entry.state}`, dataset: { cid: entry.cid } },
      h("p", { class: "meta" }, h("span", { class: "sender" }, this.t("you"))),
      h("p", { class: "text" }, entry.text),
      h("p", { class: "status" }, status),
    );
  }

  firstPendingEl() {
    for (const entry of this.pending.values()) if (entry.el && entry.el.parentNode === this.el) return entry.el;
    return null;
  }

  renderReadMarks() {
    let lastRead = null;
    for (const m of this.messages) {
      const el = this.msgEls.get(m.id);
      const status = el && el.querySelector(".status");
      if (status) status.textContent = "";
      if (this.chat.isOwn(m) && this.peerRead && compareIds(m.id, this.peerRead) <= 0) lastRead = status;
    }
    if (lastRead) lastRead.textContent = `✓ ${this.t("read")}`;
  }

  // -- where the log stands ------------------------------------------------------------

  atEnd() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < AT_END_PX;
  }

  // Only the nurse's scrolling changes whether the log follows: content growing below (a photo
  // loading) moves no scroll position, so "follow" is not re-measured then.
  onScroll() {
    if (this.el.hidden || !this.el.clientHeight) return;
    this.follow = this.atEnd();
    if (this.follow && this.unseen.length) {
      this.unseen = [];
      this.renderJump();
    }
  }

  scrollToEnd() {
    this.follow = true;
    requestAnimationFrame(() => {
      this.el.scrollTop = this.el.scrollHeight;
    });
  }

  // Showing the tab (unread: how many entries it has not shown yet): the first entry not seen
  // yet (marked), else the end.
  land(unread) {
    this.landed = true;
    const target = this.firstUnread && this.msgEls.get(this.firstUnread);
    this.firstUnread = "";
    this.el.querySelector(".unread-divider")?.remove();
    if (!target || unread <= 0) return this.scrollToEnd();
    const divider = h("p", { class: "unread-divider" }, h("span", {}, this.t("new_messages_divider")));
    target.before(divider);
    this.follow = false;
    requestAnimationFrame(() => {
      this.el.scrollTop += divider.getBoundingClientRect().top - this.el.getBoundingClientRect().top - 8;
      this.follow = this.atEnd();
    });
  }

  markUnseen(id) {
    this.unseen.push(id);
    this.renderJump();
  }

  jumpToUnseen() {
    const first = this.unseen.length && this.msgEls.get(this.unseen[0]);
    this.unseen = [];
    this.renderJump();
    if (!first) return this.scrollToEnd();
    first.scrollIntoView({ block: "start" });
    this.follow = this.atEnd();
    this.el.focus();
  }

  renderJump() {
    const n = this.unseen.length;
    this.jumpButton.hidden = n === 0;
    this.jumpButton.textContent = n === 1 ? this.t("new_messages_1") : this.t("new_messages_n", { n });
  }
}
