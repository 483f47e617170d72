// The held cases, one tab each (WAI-ARIA tabs with automatic activation): the
// triage summary beside the chat, the message log, the composer, and the
// actions that end the nurse's hold (transfer, return, close). Calls: call.js.

import { h, clear, clock } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { ChatCall } from "./call.js";
import { InlinePhrases } from "./phrases.js";
import { EarlierContacts } from "./earlier.js";

// A refused upload in the staff member's language, by its code (the server's messages are English).
const PHOTO_REFUSALS = {
  too_large: "photo_bad",
  photo_rejected: "photo_unreadable",
  conflict: "photo_not_held",
  stale_token: "photo_not_held",
};

const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;
const PEER_KINDS = new Set(["text", "template", "photo"]);
// What the server accepts (server/care/photos.py, api.MAX_PHOTO_BYTES): checked here first to say so at once.
const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const MAX_PHOTO = 8 * 1024 * 1024;
let serial = 0;

export class Chats {
  constructor(ctx, { onChange }) {
    this.ctx = ctx;
    this.onChange = onChange;
    this.chats = new Map();
    this.everHeld = new Set(); // cases this console held: back in the queue, they do not alert
    this.active = null;
    this.heading = h("h2", { id: "chats-h", class: "visually-hidden" });
    this.tablist = h("div", { role: "tablist", class: "tabs", hidden: true });
    this.tablist.addEventListener("keydown", (event) => this.onTabKey(event));
    this.panels = h("div", { class: "panels" });
    this.none = h("p", { class: "nochats" });
    this.root = h(
      "section",
      { class: "chats", id: "chats", "aria-labelledby": "chats-h", tabindex: "-1" },
      this.heading,
      this.none,
      this.tablist,
      this.panels,
    );
    document.addEventListener("visibilitychange", () => {
      const chat = this.chats.get(this.active);
      if (chat) this.maybeRead(chat);
    });
    this.relabel();
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  get held() {
    return [...this.chats.values()].filter((c) => !c.lost).length;
  }

  relabel() {
    this.heading.textContent = this.t("chats");
    this.tablist.setAttribute("aria-label", this.t("my_chats"));
    this.none.textContent = this.t("no_chats");
    for (const chat of this.chats.values()) chat.build();
  }

  renderEmpty() {
    const empty = this.chats.size === 0;
    this.none.hidden = !empty;
    this.tablist.hidden = empty;
  }

  // A claimed (or, after a reload, held) case gets a tab; focus: move keyboard focus to its composer.
  open(caseId, file, { focus = false } = {}) {
    let chat = this.chats.get(caseId);
    if (!chat) {
      this.everHeld.add(caseId);
      chat = new Chat(this, caseId, file);
      this.chats.set(caseId, chat);
      this.tablist.append(chat.tab);
      this.panels.append(chat.panel);
      this.ctx.hub.follow(caseId);
      if (!file) chat.loadFile();
      this.renderEmpty();
      this.onChange();
    } else if (file) {
      chat.setFile(file);
    }
    if (focus || !this.active) this.select(caseId, { focus: focus ? "composer" : null });
    return chat;
  }

  ensureHeld(held) {
    for (const caseId of held || []) if (!this.chats.has(caseId)) this.open(caseId, null);
  }

  select(caseId, { focus = null } = {}) {
    for (const chat of this.chats.values()) {
      const on = chat.case === caseId;
      chat.tab.setAttribute("aria-selected", on ? "true" : "false");
      chat.tab.tabIndex = on ? 0 : -1;
      chat.panel.hidden = !on;
    }
    this.active = caseId;
    const chat = this.chats.get(caseId);
    if (!chat) return;
    chat.land();
    this.maybeRead(chat);
    if (focus === "tab") chat.tab.focus();
    if (focus === "composer") (chat.textarea.disabled ? chat.tab : chat.textarea).focus();
  }

  onTabKey(event) {
    const tabs = [...this.chats.values()].map((c) => c.tab);
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    event.preventDefault();
    const chat = [...this.chats.values()].find((c) => c.tab === next);
    this.select(chat.case, { focus: "tab" });
  }

  isSeen(chat) {
    return this.active === chat.case && !document.hidden;
  }

  // Read up to the newest entry from the other side, once the tab is shown and the window visible.
  maybeRead(chat) {
    if (!this.isSeen(chat)) return;
    if (chat.unread) {
      chat.unread = 0;
      chat.renderTab();
      this.updateUnread();
    }
    const last = chat.lastPeerId();
    if (chat.synced && last && (!chat.readSent || compareIds(last, chat.readSent) > 0)) {
      chat.readSent = last;
      this.ctx.hub.read(chat.case, last);
    }
  }

  updateUnread() {
    let total = 0;
    for (const chat of this.chats.values()) total += chat.unread;
    this.ctx.alerts.setUnread(total);
  }

  notify(chat) {
    this.ctx.alerts.sound();
    if (this.active !== chat.case) this.ctx.alerts.toast(this.t("new_message", { name: chat.firstName() }));
    this.updateUnread();
  }

  // The nurse no longer holds the case: the tab closes, focus goes to a neighbour or the queue.
  remove(caseId, message) {
    const chat = this.chats.get(caseId);
    if (!chat) return;
    const keys = [...this.chats.keys()];
    const index = keys.indexOf(caseId);
    const hadFocus = chat.panel.contains(document.activeElement) || chat.tab === document.activeElement;
    chat.dispose();
    this.chats.delete(caseId);
    const neighbour = this.chats.get(keys[index + 1]) || this.chats.get(keys[index - 1]);
    if (this.active === caseId) {
      this.active = null;
      if (neighbour) this.select(neighbour.case);
    }
    this.renderEmpty();
    this.updateUnread();
    this.onChange();
    if (message) this.ctx.alerts.toast(message, "ok");
    // After a dialog that led here has closed (it would put focus back on a removed button).
    setTimeout(() => {
      const current = document.activeElement;
      const stray = !current || current === document.body || !current.isConnected || current.closest("dialog");
      if (hadFocus || stray) {
        if (neighbour) neighbour.tab.focus();
        else this.ctx.focusQueue();
      }
    }, 0);
  }

  done(frame) {
    const chat = this.chats.get(frame.case);
    if (!chat) return;
    const name = chat.patientName();
    if (frame.state === "lost") {
      chat.markLost();
      this.ctx.alerts.toast(this.t("lost_toast", { name }), "danger");
      return;
    }
    if (frame.state === "closed") this.remove(frame.case, this.t("closed", { name }));
    else if (frame.state === "transferred" && chat.transferTo)
      this.remove(frame.case, this.t("transferred", { name, ...chat.transferTo }));
    else this.remove(frame.case, this.t("released", { name }));
  }

  lostIfHeld(caseId) {
    const chat = this.chats.get(caseId);
    if (chat && !chat.ending && !chat.lost) this.done({ case: caseId, state: "lost" });
  }

  frame(frame) {
    const chat = this.chats.get(frame.case);
    if (!chat) return;
    if (frame.t === "msg") chat.addMessage(frame);
    else if (frame.t === "synced") chat.onSynced(frame);
    else if (frame.t === "case") chat.onCase(frame);
    else if (frame.t === "typing") chat.onTyping(frame);
    else if (frame.t === "read") chat.onRead(frame);
    else if (frame.t === "call") chat.call.onFrame(frame);
  }

  relabelTemplates() {
    for (const chat of this.chats.values()) chat.relabelTemplates();
  }

  historyLost(caseId) {
    const chat = this.chats.get(caseId);
    if (chat) chat.resetHistory();
  }
}

class Chat {
  constructor(chats, caseId, file) {
    this.chats = chats;
    this.ctx = chats.ctx;
    this.case = caseId;
    this.n = ++serial;
    this.file = null;
    this.unit = "";
    this.messages = [];
    this.ids = new Set();
    this.msgEls = new Map();
    this.pending = new Map();
    this.unread = 0;
    this.firstUnread = ""; // the id of the oldest entry not yet seen, while the tab is not shown
    this.follow = true; // the log sticks to its end until the nurse scrolls up
    this.unseen = []; // ids of entries that arrived while the nurse had scrolled up
    this.landed = false;
    this.synced = false;
    this.readKnown = false; // the server's read position (in the join's synced) has been applied
    this.readSent = "";
    this.peerRead = "";
    this.peerTyping = false;
    this.typingOn = false;
    this.lost = false;
    this.ending = false;
    this.patientState = "";
    this.historyWasLost = false;
    this.draft = "";
    this.template = null;
    this.transferTo = null;
    this.photo = null; // {file, url, uploading}: a photo chosen, not sent yet
    this.photoError = "";
    this.tab = h("button", {
      type: "button",
      role: "tab",
      id: `tab-${this.n}`,
      class: "tab",
      "aria-controls": `panel-${this.n}`,
      "aria-selected": "false",
      tabindex: "-1",
    });
    this.tab.addEventListener("click", () => this.chats.select(this.case, { focus: "tab" }));
    this.panel = h("section", {
      role: "tabpanel",
      id: `panel-${this.n}`,
      class: "panel",
      "aria-labelledby": `tab-${this.n}`,
      hidden: true,
    });
    if (file) this.file = file;
    this.call = new ChatCall(this);
    this.phrases = new InlinePhrases(this);
    this.earlier = new EarlierContacts(this);
    this.build();
    this.earlier.load();
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  get me() {
    return this.ctx.me.uid;
  }

  // -- data ----------------------------------------------------------------------------

  async loadFile() {
    try {
      this.setFile(await this.ctx.api.call("GET", `/api/staff/cases/${encodeURIComponent(this.case)}`));
    } catch (err) {
      this.ctx.alerts.toast(err.message, "danger");
    }
  }

  setFile(file) {
    this.file = { ...(this.file || {}), ...file };
    if (file.unit) this.unit = file.unit;
    if (file.joined_ms && !this.patientState) this.patientState = "joined";
    this.renderTab();
    this.renderHead();
    this.renderSummary();
  }

  // Before the case file has come: a word, never the internal case id.
  patientName() {
    return this.file?.patient?.name || this.t("the_patient");
  }

  firstName() {
    return this.file?.patient?.first_name || this.file?.patient?.name || this.t("loading");
  }

  reason() {
    const reason = this.file?.triage?.reason;
    if (!reason) return "";
    return (reason.label && this.ctx.i18n.pick(reason.label)) || reason.code || "";
  }

  isOwn(m) {
    return m.from === this.me;
  }

  isPeer(m) {
    return !this.isOwn(m) && PEER_KINDS.has(m.k) && !String(m.from || "").startsWith("s-");
  }

  lastPeerId() {
    for (let i = this.messages.length - 1; i >= 0; i--) if (!this.isOwn(this.messages[i])) return this.messages[i].id;
    return "";
  }

  addMessage(m) {
    if (this.ids.has(m.id)) return;
    this.ids.add(m.id);
    this.messages.push(m);
    const stick = this.follow || this.isOwn(m);
    if (m.cid && this.isOwn(m) && this.pending.has(m.cid)) {
      this.pending.get(m.cid).el.remove();
      this.pending.delete(m.cid);
    }
    const el = this.messageEl(m);
    this.log.insertBefore(el, this.firstPendingEl());
    if (stick) this.scrollToEnd();
    else if (this.synced && this.chats.isSeen(this)) this.markUnseen(m.id);
    if (this.isPeer(m)) {
      this.peerTyping = false;
      this.renderTyping();
      if (this.synced && !this.chats.isSeen(this)) {
        if (!this.unread) this.firstUnread = m.id;
        this.unread += 1;
        this.renderTab();
        this.chats.notify(this);
      }
    }
    if (this.isOwn(m)) this.renderReadMarks();
    this.chats.maybeRead(this);
  }

  onSynced(frame) {
    this.synced = true;
    if (frame.read !== undefined) this.unreadSince(frame.read);
    if (!this.landed && this.chats.isSeen(this)) this.land();
    this.chats.maybeRead(this);
  }

  onCase(frame) {
    if (frame.file) this.setFile(frame.file);
    if (frame.state === "joined") this.patientState = "joined";
    else if (frame.state === "abandoned" || frame.state === "closed") this.patientState = "left";
    else if (frame.state === "ready" && !this.file?.joined_ms) this.patientState = "waiting";
    this.renderHead();
  }

  onTyping(frame) {
    if (String(frame.from || "").startsWith("s-")) return;
    this.peerTyping = frame.on;
    clearTimeout(this.peerTypingTimer);
    if (frame.on) {
      this.peerTypingTimer = setTimeout(() => {
        this.peerTyping = false;
        this.renderTyping();
      }, TYPING_SHOW_MS);
    }
    this.renderTyping();
  }

  onRead(frame) {
    if (String(frame.from || "").startsWith("s-")) return;
    if (!this.peerRead || compareIds(frame.id, this.peerRead) > 0) this.peerRead = frame.id;
    this.renderReadMarks();
  }

  resetHistory() {
    this.messages = [];
    this.ids.clear();
    this.msgEls.clear();
    this.historyWasLost = true;
    this.renderLog();
  }

  markLost() {
    this.lost = true;
    this.stopTyping();
    this.renderLost();
    this.renderTab();
    this.chats.onChange();
  }

  // -- actions -------------------------------------------------------------------------

  send() {
    if (this.lost || this.ending) return;
    const text = this.textarea.value.trim();
    if (!text) return;
    const fields = { text };
    if (this.template) fields.template = this.template.id;
    this.post(fields);
  }

  // A message on its way: shown as pending until the server has stored it.
  post(fields) {
    const text = fields.text || this.t("photo_pending");
    const { cid, stored } = this.ctx.hub.send(this.case, fields);
    const entry = { cid, text, template: fields.template || "", state: "sending", error: "" };
    entry.el = this.pendingEl(entry);
    this.pending.set(cid, entry);
    this.log.append(entry.el);
    this.scrollToEnd();
    this.textarea.value = "";
    this.draft = "";
    this.template = null;
    this.renderChip();
    this.stopTyping();
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

  // -- a photo from staff: checked, previewed, uploaded (the server cleans it as a citizen's), sent --

  choosePhoto(input) {
    const file = input.files && input.files[0];
    input.value = "";
    this.dropPhoto();
    this.photoError = "";
    if (file && (!PHOTO_TYPES.has(file.type) || file.size > MAX_PHOTO)) this.photoError = this.t("photo_bad");
    else if (file) this.photo = { file, url: URL.createObjectURL(file), uploading: false };
    this.renderPhotoStep();
    this.photoStep.querySelector("button.primary")?.focus();
  }

  dropPhoto() {
    if (this.photo) URL.revokeObjectURL(this.photo.url);
    this.photo = null;
  }

  async sendPhoto() {
    if (!this.photo || this.photo.uploading || this.lost || this.ending) return;
    this.photo.uploading = true;
    this.photoError = "";
    this.renderPhotoStep();
    const { file } = this.photo;
    try {
      const path = `/api/cases/${encodeURIComponent(this.case)}/photos`;
      const stored = await this.ctx.api.call("POST", path, file, { raw: true, contentType: file.type });
      const caption = this.textarea.value.trim();
      this.post({ photo: stored.photo, text: caption });
      if (caption) this.textarea.value = "";
      this.dropPhoto();
      this.textarea.focus();
    } catch (err) {
      if (this.photo) this.photo.uploading = false;
      this.photoError = this.t(PHOTO_REFUSALS[err.code] || "photo_failed");
    }
    this.renderPhotoStep();
  }

  renderPhotoStep() {
    const error = this.photoError ? h("p", { class: "dlg-error", role: "alert" }, this.photoError) : null;
    if (!this.photo) return clear(this.photoStep, error);
    const busy = this.photo.uploading;
    clear(
      this.photoStep,
      h("img", { src: this.photo.url, alt: this.t("photo_preview") }),
      h(
        "div",
        { class: "cphoto-text" },
        h("p", {}, this.photo.file.name),
        h("p", { class: "hint" }, busy ? this.t("photo_uploading") : this.t("photo_caption_hint")),
        error,
        h(
          "div",
          { class: "cbuttons" },
          h("button", { type: "button", class: "primary", disabled: busy, onclick: () => this.sendPhoto() }, this.t("photo_send")),
          h(
            "button",
            {
              type: "button",
              disabled: busy,
              onclick: () => {
                this.dropPhoto();
                this.renderPhotoStep();
                this.fileInput.focus();
              },
            },
            this.t("photo_remove"),
          ),
        ),
      ),
    );
  }

  // A phrase in the patient's language, its placeholders filled by the server.
  phraseText(template) {
    const lang = this.file?.lang === "en" ? "en" : "sv";
    return (template.filled && template.filled[lang]) || (template.text && template.text[lang]) || "";
  }

  // From the phrase dialog: the phrase replaces the draft.
  useTemplate(template) {
    const text = this.phraseText(template);
    this.textarea.value = text;
    this.usedTemplate(template);
    this.textarea.focus();
    this.textarea.setSelectionRange(text.length, text.length);
  }

  // The message now comes from a phrase (chosen in the dialog or inline with "/").
  usedTemplate(template) {
    this.draft = this.textarea.value;
    this.template = { id: template.id, title: template.title };
    this.ctx.learnTemplate(template.id, template.title);
    this.renderChip();
  }

  async release() {
    if (this.ending || this.lost) return;
    this.ending = true;
    const reply = await this.ctx.hub
      .request({ t: "release", case: this.case }, "done")
      .catch((err) => ({ t: "error", message: err.message }));
    if (reply.t === "error") {
      this.ending = false;
      this.ctx.alerts.toast(this.t("release_failed", { message: reply.message }), "danger");
    }
  }

  onInput() {
    this.draft = this.textarea.value;
    if (!this.draft.trim() && this.template) {
      this.template = null;
      this.renderChip();
    }
    if (!this.synced || this.lost) return;
    if (this.draft && !this.typingOn) {
      this.typingOn = true;
      this.ctx.hub.typing(this.case, true);
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingOn) {
      this.typingOn = false;
      this.ctx.hub.typing(this.case, false);
    }
  }

  dispose() {
    this.dropPhoto();
    this.stopTyping();
    clearTimeout(this.peerTypingTimer);
    this.call.dispose();
    this.ctx.hub.unfollow(this.case);
    this.tab.remove();
    this.panel.remove();
  }

  // -- view ----------------------------------------------------------------------------

  build() {
    const t = (key, values) => this.t(key, values);
    const n = this.n;
    if (this.textarea) this.draft = this.textarea.value;
    this.titleEl = h("h2", { class: "ptitle" });
    this.stateEl = h("p", { class: "pstate" });
    this.transferButton = h(
      "button",
      { type: "button", onclick: (e) => this.ctx.dialogs.transfer(this, e.currentTarget) },
      t("transfer"),
    );
    this.releaseButton = h("button", { type: "button", onclick: () => this.release() }, t("release"));
    this.closeButton = h(
      "button",
      { type: "button", class: "danger", onclick: (e) => this.ctx.dialogs.close(this, e.currentTarget) },
      t("close"),
    );
    this.lostBox = h(
      "div",
      { class: "banner danger lostbox", hidden: true },
      h("p", {}, t("lost")),
      h("button", { type: "button", onclick: () => this.chats.remove(this.case) }, t("close_tab")),
    );
    this.log = h("div", { role: "log", "aria-live": "polite", "aria-label": t("messages"), class: "log", tabindex: "0" });
    this.log.addEventListener("scroll", () => this.onScroll());
    this.jumpButton = h("button", { type: "button", class: "jump", hidden: true, onclick: () => this.jumpToUnseen() });
    this.typingEl = h("p", { class: "typing" });
    this.textarea = h("textarea", { id: `composer-${n}`, rows: "3", "aria-describedby": `hint-${n}` });
    this.textarea.value = this.draft;
    this.textarea.addEventListener("input", () => {
      this.onInput();
      this.phrases.onInput();
    });
    this.textarea.addEventListener("blur", () => this.phrases.close());
    this.phrases.attach(this.textarea);
    this.textarea.addEventListener("keydown", (event) => {
      if (this.phrases.onKey(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.chip = h("div", { class: "chip", hidden: true });
    this.phrasesButton = h(
      "button",
      { type: "button", onclick: (e) => this.ctx.dialogs.templates(this, e.currentTarget) },
      t("phrases"),
    );
    this.sendButton = h("button", { type: "submit", class: "primary" }, t("send"));
    this.fileInput = h("input", {
      type: "file",
      id: `attach-${n}`,
      class: "visually-hidden",
      accept: [...PHOTO_TYPES].join(","),
      onchange: (e) => this.choosePhoto(e.currentTarget),
    });
    this.attach = h("span", { class: "attach" }, this.fileInput, h("label", { for: this.fileInput.id, class: "button" }, t("photo_attach")));
    this.photoStep = h("div", { class: "cphoto" });
    this.form = h(
      "form",
      {
        class: "composer",
        onsubmit: (event) => {
          event.preventDefault();
          this.send();
        },
      },
      h("label", { for: this.textarea.id }, t("message")),
      this.phrases.root,
      this.textarea,
      this.photoStep,
      h(
        "div",
        { class: "cfoot" },
        h("p", { id: `hint-${n}`, class: "hint" }, t("composer_hint")),
        this.chip,
        h("div", { class: "cbuttons" }, this.phrasesButton, this.attach, this.sendButton),
      ),
    );
    this.summary = h("section", { class: "summary", "aria-labelledby": `sum-${n}`, tabindex: "0" });
    clear(
      this.panel,
      h(
        "div",
        { class: "phead" },
        h("div", { class: "ptitles" }, this.titleEl, this.stateEl),
        h("div", { class: "pactions" }, ...this.call.buttons(), this.transferButton, this.releaseButton, this.closeButton),
      ),
      h(
        "div",
        { class: "pbody" },
        h(
          "div",
          { class: "chatcol" },
          this.lostBox,
          this.call.element(),
          h("div", { class: "logwrap" }, this.log, this.jumpButton),
          this.typingEl,
          this.form,
        ),
        h("div", { class: "side" }, this.summary, this.earlier.root),
      ),
    );
    this.earlier.render();
    this.renderTab();
    this.renderHead();
    this.renderSummary();
    this.renderLog();
    this.renderJump();
    this.renderChip();
    this.renderTyping();
    this.renderPhotoStep();
    this.renderLost();
  }

  renderTab() {
    const sep = () => h("span", { class: "visually-hidden" }, ", ");
    const badge =
      this.unread > 0
        ? h(
            "span",
            { class: "badge" },
            h("span", { "aria-hidden": "true" }, String(this.unread)),
            h("span", { class: "visually-hidden" }, this.unread === 1 ? this.t("unread_1") : this.t("unread_n", { n: this.unread })),
          )
        : null;
    clear(
      this.tab,
      h("span", { class: "tname" }, this.firstName()),
      sep(),
      h("span", { class: "treason" }, this.reason()),
      badge ? sep() : null,
      badge,
      this.lost ? h("span", { class: "tlost" }, " ⚠ ", h("span", { class: "visually-hidden" }, this.t("tab_lost"))) : null,
    );
  }

  renderHead() {
    const patient = this.file?.patient;
    const age = this.file?.triage?.age;
    this.titleEl.textContent = patient
      ? [patient.name, age !== undefined && age !== null ? this.t("age", { n: age }) : ""].filter(Boolean).join(", ")
      : this.t("loading");
    const state = this.patientState || (this.file?.joined_ms ? "joined" : this.file ? "waiting" : "");
    this.stateEl.textContent =
      state === "joined"
        ? this.t("citizen_joined")
        : state === "left"
          ? this.t("patient_left")
          : state === "waiting"
            ? this.t("citizen_not_joined")
            : "";
    this.stateEl.className = `pstate ${state}`;
  }

  renderSummary() {
    const t = (key, values) => this.t(key, values);
    const file = this.file;
    const heading = h("h3", { id: `sum-${this.n}` }, t("summary"));
    if (!file) {
      clear(this.summary, heading, h("p", {}, t("loading")));
      return;
    }
    const triage = file.triage || {};
    const pick = (text) => (typeof text === "string" ? text : this.ctx.i18n.pick(text));
    const facts = [
      [t("patient"), file.patient?.name],
      [t("pnr"), formatPnr(file.patient?.pnr) + (triage.age !== undefined ? ` (${t("age", { n: triage.age })})` : "")],
      file.guardian ? [t("guardian"), formatPnr(file.guardian)] : null,
      [t("reason"), this.reason()],
      triage.care_level ? [t("care_level"), t(`care_${triage.care_level}`)] : null,
      triage.urgency ? [t("urgency_label"), `${t("urgency", { n: triage.urgency })} · ${t(`urgency_${triage.urgency}`)}`] : null,
      // the profession the case waits for or is with now (a transfer changes it), else the triage's
      file.skill || triage.profession ? [t("profession"), t(`skill_${file.skill || triage.profession}`)] : null,
      triage.visit ? [t("visit"), t(`visit_${triage.visit}`)] : null,
      triage.place ? [t("place"), t(`place_${triage.place}`)] : null,
      triage.care_level
        ? [t("decided_by"), triage.decided_by ? pick(triage.decided_by.staff) : t("decided_by_base")]
        : null,
      [t("patient_lang"), t(file.lang === "en" ? "lang_en" : "lang_sv")],
    ].filter(Boolean);
    const dl = h(
      "dl",
      { class: "facts" },
      facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "—")]),
    );
    clear(this.summary, heading, dl, findingsView(t, pick, triage.findings || {}), answersView(t, pick, triage.answers || []));
  }

  renderLog() {
    const items = [];
    if (this.historyWasLost) items.push(h("p", { class: "banner warn" }, this.t("history_lost")));
    this.msgEls.clear();
    for (const m of this.messages) items.push(this.messageEl(m));
    for (const entry of this.pending.values()) {
      entry.el = this.pendingEl(entry);
      items.push(entry.el);
    }
    clear(this.log, items);
    this.renderReadMarks();
    if (this.follow) this.scrollToEnd();
  }

  roleLabel(role) {
    if (!role) return "";
    const key = STRING_ROLES.has(role) ? `role_${role}` : `skill_${role}`;
    return this.t(key);
  }

  messageEl(m) {
    const lang = this.ctx.i18n.lang;
    const time = m.ts ? h("time", { datetime: new Date(m.ts).toISOString() }, clock(m.ts, lang)) : null;
    let el;
    if (m.k === "system") {
      const text = lang === "en" && m.text_en ? m.text_en : m.text;
      el = h("div", { class: "msg system" }, h("p", {}, text, " ", time));
    } else if (m.k === "note") {
      const kind = m.code === "journal" ? this.t("note_journal") : m.code === "transfer" ? this.t("note_transfer") : "";
      el = h(
        "div",
        { class: "msg note" },
        h("p", { class: "notehead" }, h("strong", {}, this.t("note_heading")), kind ? ` · ${kind}` : ""),
        h("p", { class: "meta" }, `${m.name || ""} (${this.roleLabel(m.role)}) `, time),
        h("p", { class: "text" }, m.text || ""),
      );
    } else {
      const own = this.isOwn(m);
      const sender = own ? this.t("you") : m.name || this.roleLabel(m.role);
      const photo = m.k === "photo" && m.photo ? this.photoEl(m, own) : null;
      el = h(
        "div",
        { class: `msg ${own ? "own" : "peer"}` },
        h(
          "p",
          { class: "meta" },
          h("span", { class: "sender" }, sender),
          ` (${this.roleLabel(m.role)}) `,
          time,
          m.k === "template" && m.tpl ? h("span", { class: "tpl", dataset: { tpl: m.tpl } }, this.templateLabel(m.tpl)) : null,
        ),
        photo,
        m.text ? h("p", { class: "text" }, m.text) : null,
        own ? h("p", { class: "status" }) : null,
      );
    }
    this.msgEls.set(m.id, el);
    return el;
  }

  // A thumbnail that opens the photo full size, with zoom (Dialogs.photo).
  photoEl(m, own) {
    const src = `/api/cases/${encodeURIComponent(this.case)}/photos/${encodeURIComponent(m.photo)}`;
    const alt = own ? this.t("photo_alt_own") : this.t("photo_alt", { name: m.name || this.roleLabel(m.role) });
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
    for (const span of this.log.querySelectorAll("[data-tpl]")) span.textContent = this.templateLabel(span.dataset.tpl);
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
    for (const entry of this.pending.values()) if (entry.el && entry.el.parentNode === this.log) return entry.el;
    return null;
  }

  renderReadMarks() {
    let lastRead = null;
    for (const m of this.messages) {
      const el = this.msgEls.get(m.id);
      const status = el && el.querySelector(".status");
      if (status) status.textContent = "";
      if (this.isOwn(m) && this.peerRead && compareIds(m.id, this.peerRead) <= 0) lastRead = status;
    }
    if (lastRead) lastRead.textContent = `✓ ${this.t("read")}`;
  }

  renderChip() {
    if (!this.template) {
      this.chip.hidden = true;
      clear(this.chip);
      return;
    }
    this.chip.hidden = false;
    clear(
      this.chip,
      h("span", {}, this.t("template_chosen", { title: this.template.title })),
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: () => {
            this.template = null;
            this.renderChip();
            this.textarea.focus();
          },
        },
        this.t("template_clear"),
      ),
    );
  }

  renderTyping() {
    this.typingEl.textContent = this.peerTyping ? this.t("typing") : "";
  }

  renderLost() {
    this.lostBox.hidden = !this.lost;
    const controls = [this.textarea, this.sendButton, this.phrasesButton, this.fileInput];
    for (const el of [...controls, this.transferButton, this.releaseButton, this.closeButton]) {
      el.disabled = this.lost;
    }
    this.call.renderButtons();
  }

  atEnd() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 48;
  }

  // Only the nurse's scrolling changes whether the log follows: content growing below (a photo
  // loading) moves no scroll position, so "follow" is not re-measured then.
  onScroll() {
    if (this.log.hidden || !this.log.clientHeight) return;
    this.follow = this.atEnd();
    if (this.follow && this.unseen.length) {
      this.unseen = [];
      this.renderJump();
    }
  }

  scrollToEnd() {
    this.follow = true;
    requestAnimationFrame(() => {
      this.log.scrollTop = this.log.scrollHeight;
    });
  }

  // A page opened afresh (a reload, another computer): what came from the patient after the
  // read position the server kept is unread, once; a transferred case's new holder has none.
  unreadSince(read) {
    if (this.readKnown) return;
    this.readKnown = true;
    if (!read || this.unread) return;
    const unread = this.messages.filter((m) => this.isPeer(m) && compareIds(m.id, read) > 0);
    if (!unread.length) return;
    this.firstUnread = unread[0].id;
    this.unread = unread.length;
    this.renderTab();
    this.chats.updateUnread();
  }

  // Showing the tab: the first entry not seen yet (marked), else the end. Not before the
  // join's replay is complete: only then is the first unread entry known.
  land() {
    if (!this.synced) return;
    this.landed = true;
    const target = this.firstUnread && this.msgEls.get(this.firstUnread);
    this.firstUnread = "";
    this.log.querySelector(".unread-divider")?.remove();
    if (!target || this.unread <= 0) return this.scrollToEnd();
    const divider = h("p", { class: "unread-divider" }, h("span", {}, this.t("new_messages_divider")));
    target.before(divider);
    this.follow = false;
    requestAnimationFrame(() => {
      this.log.scrollTop += divider.getBoundingClientRect().top - this.log.getBoundingClientRect().top - 8;
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
    this.log.focus();
  }

  renderJump() {
    const n = this.unseen.length;
    this.jumpButton.hidden = n === 0;
    this.jumpButton.textContent = n === 1 ? this.t("new_messages_1") : this.t("new_messages_n", { n });
  }
}

const STRING_ROLES = new Set(["citizen", "guardian", "system"]);

// "199108312399" -> "19910831-2399"
function formatPnr(pnr) {
  if (!pnr) return "—";
  const s = String(pnr);
  return s.length === 12 ? `${s.slice(0, 8)}-${s.slice(8)}` : s;
}

// The triage's findings in clinical words, grouped: present, measured, unknown,
// the patient's own words, and (folded) what was answered no.
function findingsView(t, pick, findings) {
  const list = (items) => (items && items.length ? h("ul", {}, items.map((x) => h("li", {}, pick(x)))) : h("p", {}, t("findings_none")));
  const absent = findings.absent || [];
  return h(
    "div",
    { class: "findings" },
    h("h4", {}, t("findings_present")),
    list(findings.present),
    findings.measured && findings.measured.length ? [h("h4", {}, t("findings_measured")), list(findings.measured)] : null,
    findings.unknown && findings.unknown.length ? [h("h4", {}, t("findings_unknown")), list(findings.unknown)] : null,
    findings.free_text && findings.free_text.length
      ? [
          h("h4", {}, t("findings_free_text")),
          h("dl", { class: "answers" }, findings.free_text.map((f) => [h("dt", {}, pick(f.question)), h("dd", {}, f.answer)])),
        ]
      : null,
    absent.length ? h("details", {}, h("summary", {}, t("findings_absent", { n: absent.length })), list(absent)) : null,
  );
}

// A photo question's own answer is an internal value ("skip" or a photo reference): say what it means.
function answerText(t, pick, qa) {
  if (qa.photo === "skipped") return t("photo_skipped");
  if (qa.photo === "attached") return t("photo_attached");
  return pick(qa.answer);
}

function answersView(t, pick, answers) {
  if (!answers.length) return null;
  return h(
    "details",
    { class: "qa" },
    h("summary", {}, t("answers")),
    h("dl", { class: "answers" }, answers.map((qa) => [h("dt", {}, pick(qa.question)), h("dd", {}, answerText(t, pick, qa))])),
  );
}
