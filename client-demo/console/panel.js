// One held case: its tab and its panel. The panel holds the actions that end the
// nurse's hold (transfer, return, close), the message log (log.js), typing, the
// composer with phrases (phrases.js) and photos (photo.js), and beside the chat
// the triage summary (summary.js) and earlier contacts (earlier.js). Calls: call.js.

import { h, clear } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { ChatCall } from "./call.js";
import { InlinePhrases } from "./phrases.js";
import { EarlierContacts } from "./earlier.js";
import { MessageLog } from "./log.js";
import { PhotoStep } from "./photo.js";
import { renderSummary } from "./summary.js";

const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;
const PEER_KINDS = new Set(["text", "template", "photo"]);
const STRING_ROLES = new Set(["citizen", "guardian", "system"]);
let serial = 0;

export class Chat {
  constructor(chats, caseId, file) {
    this.chats = chats;
    this.ctx = chats.ctx;
    this.case = caseId;
    this.n = ++serial;
    this.file = null;
    this.unit = "";
    this.unread = 0;
    this.synced = false;
    this.readKnown = false; // the server's read position (in the join's synced) has been applied
    this.readSent = "";
    this.peerTyping = false;
    this.typingOn = false;
    this.lost = false;
    this.ending = false;
    this.patientState = "";
    this.draft = "";
    this.template = null;
    this.transferTo = null;
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
    this.log = new MessageLog(this);
    this.photoStep = new PhotoStep(this);
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

  roleLabel(role) {
    if (!role) return "";
    const key = STRING_ROLES.has(role) ? `role_${role}` : `skill_${role}`;
    return this.t(key);
  }

  isOwn(m) {
    return m.from === this.me;
  }

  isPeer(m) {
    return !this.isOwn(m) && PEER_KINDS.has(m.k) && !String(m.from || "").startsWith("s-");
  }

  // -- frames from the server ----------------------------------------------------------

  addMessage(m) {
    const seen = this.chats.isSeen(this);
    if (!this.log.add(m, { seen: this.synced && seen })) return;
    if (this.isPeer(m)) {
      this.peerTyping = false;
      this.renderTyping();
      if (this.synced && !seen) {
        if (!this.unread) this.log.firstUnread = m.id;
        this.unread += 1;
        this.renderTab();
        this.chats.notify(this);
      }
    }
    this.chats.maybeRead(this);
  }

  onSynced(frame) {
    this.synced = true;
    if (frame.read !== undefined) this.unreadSince(frame.read);
    if (!this.log.landed && this.chats.isSeen(this)) this.land();
    this.chats.maybeRead(this);
  }

  // A page opened afresh (a reload, another computer): what came from the patient after the
  // read position the server kept is unread, once; a transferred case's new holder has none.
  unreadSince(read) {
    if (this.readKnown) return;
    this.readKnown = true;
    if (!read || this.unread) return;
    const unread = this.log.messages.filter((m) => this.isPeer(m) && compareIds(m.id, read) > 0);
    if (!unread.length) return;
    this.log.firstUnread = unread[0].id;
    this.unread = unread.length;
    this.renderTab();
    this.chats.updateUnread();
  }

  // Showing the tab: the log lands on the first entry not seen yet (marked), else the end. Not
  // before the join's replay is complete: only then is the first unread entry known.
  land() {
    if (this.synced) this.log.land(this.unread);
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
    this.log.peerReadUpTo(frame.id);
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
    this.log.addPending(cid, stored, { text, template: fields.template || "" });
    this.textarea.value = "";
    this.draft = "";
    this.template = null;
    this.renderChip();
    this.stopTyping();
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
    this.photoStep.drop();
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
    if (this.textarea) this.draft = this.textarea.value;
    this.titleEl = h("h2", { class: "ptitle" });
    this.stateEl = h("p", { class: "pstate" });
    this.transferButton = h(
      "button",
      { type: "button", onclick: (e) => this.ctx.dialogs.transfer(this, e.currentTarget) },
      t("transfer"),
    );
    this.referButton = this.ctx.referral.button(this);
    this.bookButton = this.ctx.booking.button(this);
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
    const logWrap = this.log.build();
    this.typingEl = h("p", { class: "typing" });
    const form = this.composer();
    this.summary = h("section", { class: "summary", "aria-labelledby": `sum-${this.n}`, tabindex: "0" });
    clear(
      this.panel,
      h(
        "div",
        { class: "phead" },
        h("div", { class: "ptitles" }, this.titleEl, this.stateEl),
        h("div", { class: "pactions" }, ...this.call.buttons(), this.bookButton, this.referButton, this.transferButton, this.releaseButton, this.closeButton),
      ),
      h(
        "div",
        { class: "pbody" },
        h("div", { class: "chatcol" }, this.lostBox, this.call.element(), logWrap, this.typingEl, form),
        h("div", { class: "side" }, this.summary, this.earlier.root),
      ),
    );
    this.earlier.render();
    this.renderTab();
    this.renderHead();
    this.renderSummary();
    this.log.render();
    this.log.renderJump();
    this.renderChip();
    this.renderTyping();
    this.photoStep.render();
    this.renderLost();
  }

  // The draft, the phrase chosen for it, phrases inline with "/" and from the dialog, a photo.
  composer() {
    const t = (key, values) => this.t(key, values);
    const n = this.n;
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
    this.photoStep.build();
    return h(
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
      this.photoStep.root,
      h(
        "div",
        { class: "cfoot" },
        h("p", { id: `hint-${n}`, class: "hint" }, t("composer_hint")),
        this.chip,
        h("div", { class: "cbuttons" }, this.phrasesButton, this.photoStep.attach, this.sendButton),
      ),
    );
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
    const { n, file } = this;
    renderSummary(this.summary, { n, file, reason: this.reason(), t: (key, values) => this.t(key, values), i18n: this.ctx.i18n });
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
    const controls = [this.textarea, this.sendButton, this.phrasesButton, this.photoStep.input];
    for (const el of [...controls, this.bookButton, this.referButton, this.transferButton, this.releaseButton, this.closeButton]) {
      el.disabled = this.lost;
    }
    this.call.renderButtons();
  }
}
