// The held cases as a tab list (WAI-ARIA tabs with automatic activation): one tab
// and panel per case (panel.js), keyboard moves between tabs, unread counts and
// alerts, and where focus goes when a case ends here. Frames for a held case are
// handed to its chat.

import { h } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { Chat } from "./panel.js";

export class ChatTabs {
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
    const last = chat.log.lastPeerId();
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
    if (frame.state === "closed") {
      this.ctx.recentlyClosed?.add(frame.case, name);
      this.remove(frame.case, this.t("closed", { name }));
    }
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
    for (const chat of this.chats.values()) chat.log.relabelTemplates();
  }

  historyLost(caseId) {
    const chat = this.chats.get(caseId);
    if (chat) chat.log.resetHistory();
  }
}
