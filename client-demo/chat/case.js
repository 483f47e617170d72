// One case from the waiting room to the end of the chat. Follows the case on
// the hub and switches between the waiting room, the chat and the end.

import { clear, focusFirst, h } from "../shared/dom.js";
import { CitizenCall } from "./call.js";
import { ChatView } from "./chat.js";
import { chime } from "./sound.js";
import { renderWaiting, updatePosition } from "./waiting.js";

const WAITING = new Set(["waiting", "moving", "moved", "transferred"]);
const CHAT = new Set(["claimed", "ready", "joined"]);

export class CaseScreen {
  constructor(app, status) {
    this.app = app;
    this.caseId = status.case;
    this.file = status;
    this.state = status.state || "waiting";
    this.position = status.position || null;
    this.staffName = status.staff_name || "";
    this.unitName = "";
    this.staffRole = ""; // the profession of the staff member in the chat
    this.queue = status.queue || null; // where the case waits: {unit, unit_name, skill}
    this.handover = null; // {skill, unit_name}: handed over by staff, not yet taken by the next
    this.outcome = status.outcome || "";
    this.readyShown = false;
    this.error = "";
    this.chat = new ChatView(this);
    this.call = new CitizenCall(this);
    app.hub.follow(this.caseId);
  }

  destroy() {
    this.chat.destroy();
    this.call.destroy();
    this.app.hub.unfollow(this.caseId);
  }

  phase() {
    if (this.state === "closed") return "closed";
    if (this.state === "abandoned") return "abandoned";
    if (CHAT.has(this.state)) return "chat";
    if (WAITING.has(this.state)) return "waiting";
    return "waiting";
  }

  render() {
    const phase = this.phase();
    if (phase === "waiting") {
      this.chat.unmount();
      clear(this.app.main, renderWaiting(this));
      this.chat.scrollDown();
    } else if (phase === "abandoned") {
      this.chat.unmount();
      const { t } = this.app;
      clear(
        this.app.main,
        h(
          "section",
          { class: "card" },
          h("h2", {}, t("abandoned.heading")),
          h("p", {}, t("abandoned.text")),
          h("button", { type: "button", class: "primary", onclick: () => this.app.toEntry() }, t("again")),
        ),
      );
    } else {
      this.chat.mount(this.app.main);
    }
  }

  // Render and move focus: the screen changed under the citizen.
  show() {
    this.render();
    focusFirst(this.app.main);
  }

  onFrame(frame) {
    if (frame.case !== this.caseId) return;
    switch (frame.t) {
      case "position":
        this.position = frame;
        if (this.phase() === "waiting") updatePosition(this);
        break;
      case "case":
        this.onCase(frame);
        break;
      case "notice":
        if (frame.kind === "chat_ready") this.chatReady();
        break;
      case "msg":
        if (frame.k === "system") this.onSystem(frame);
        this.chat.add(frame);
        break;
      case "typing":
        this.chat.onTyping(frame);
        break;
      case "read":
        this.chat.onRead(frame);
        break;
      case "synced":
        this.chat.synced(frame);
        this.chat.markRead();
        // back in the queue after a chat (a reload): the chat so far belongs in view
        if (this.phase() === "waiting" && this.chat.log.items.length && !this.chat.log.el) this.rerenderWaiting();
        break;
      case "call":
        this.call.onFrame(frame);
        break;
    }
  }

  onHubState(state) {
    if (state === "open") this.chat.markRead();
  }

  onHistoryLost(caseId) {
    if (caseId === this.caseId) this.chat.reset();
  }

  onCase(frame) {
    if (frame.file) {
      this.file = { ...this.file, ...frame.file };
      if (frame.file.staff_name) this.staffName = frame.file.staff_name;
      if (frame.file.outcome) this.outcome = frame.file.outcome;
    }
    if (frame.queue) this.queue = frame.queue;
    if (frame.staff_name) this.staffName = frame.staff_name;
    if (frame.profession) this.staffRole = frame.profession;
    // a closed case's unit is the one referred to (an id), not the chat's: the heading keeps the chat's
    if (frame.unit && frame.state !== "closed") this.unitName = frame.unit;
    if (frame.outcome) this.outcome = frame.outcome;
    if (frame.back === "transferred" && frame.queue) this.handover = handoverOf(frame.queue);
    const before = this.phase();
    this.state = frame.state;
    const after = this.phase();
    // the chat opened while we waited (also when we joined just after the nurse claimed)
    if (frame.state === "ready" || (before === "waiting" && after === "chat")) return this.chatReady();
    if (after === "waiting" && before !== "waiting") this.backInQueue();
    if (before !== after) this.show();
    else if (after === "chat") this.chat.refreshHeading();
  }

  // The nurse opened the chat: say so loudly (notice, sound, title), once.
  chatReady() {
    if (this.phase() === "waiting") this.state = "ready";
    if (this.readyShown || this.phase() !== "chat") return;
    this.readyShown = true;
    this.chat.readyNotice = true;
    this.show();
    chime();
    document.title = this.app.t("ready.title");
  }

  async abandon() {
    try {
      await this.app.api.call("POST", `/api/cases/${encodeURIComponent(this.caseId)}/abandon`);
      this.state = "abandoned";
      this.show();
    } catch (err) {
      this.error = this.app.errorText(err);
      this.render();
    }
  }

  // The staff member let go of the case (a transfer, a return, a missed join): whoever
  // takes it next is someone else, and nothing of this chat's call is left on the screen.
  backInQueue() {
    this.readyShown = false;
    this.staffName = "";
    this.staffRole = "";
    this.unitName = "";
    this.call.forget();
  }

  // System entries say who has the case, live and when the transcript is replayed after a reload.
  onSystem(frame) {
    const before = this.handover;
    if (frame.code === "transferred" && frame.skill) this.handover = handoverOf(frame);
    else if (frame.code === "chat_ready") {
      this.handover = null;
      if (frame.profession) this.staffRole = frame.profession;
    }
    if (this.handover !== before && this.phase() === "waiting") this.rerenderWaiting();
  }

  // The waiting room again, where its heading changed, with focus kept on the heading.
  rerenderWaiting() {
    const hadFocus = this.app.main.contains(document.activeElement) && document.activeElement.matches("h2");
    this.render();
    if (hadFocus) focusFirst(this.app.main);
  }

  // Who the citizen chats with, for a sentence's start: "Doris Lund", or "The doctor".
  staffWho() {
    if (this.staffName) return this.staffName;
    const the = this.professionText("the");
    return the.charAt(0).toUpperCase() + the.slice(1);
  }

  // "the doctor", "a doctor", "doctor" (form "the", "a", "profession"): the profession the case
  // waits for, or in the chat the one of the staff member who opened it.
  professionText(form) {
    const chatting = this.phase() === "chat" && this.staffRole;
    const key = `${form}.${chatting ? this.staffRole : this.queue?.skill || ""}`;
    const text = this.app.t(key);
    if (text !== key) return text;
    return form === "profession" ? "" : this.app.t(`${form}.staff`);
  }
}

function handoverOf(where) {
  return { skill: where.skill, unitName: where.unit_name || "" };
}
