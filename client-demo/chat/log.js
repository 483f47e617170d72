// The citizen's message log: the entries in stream order (their own messages not
// yet stored last), each with its sender, role and time, photos inline, and on the
// citizen's own the sent/read mark. Where the log scrolls: follow.js.

import { clear, clock, h } from "../shared/dom.js";
import { compareIds } from "../shared/hub.js";
import { bookingCard } from "./booking.js";

const STAFF_ROLES = new Set(["nurse", "doctor", "administrator"]);

// The sender's role in the citizen's words; item: {frame, own}.
export function roleText(t, item) {
  const f = item.frame;
  if (f.k === "system" || f.role === "system") return t("role.system");
  if (item.own) return t("you");
  return t(STAFF_ROLES.has(f.role) ? `role.${f.role}` : "role.staff");
}

export class ChatLog {
  constructor(app, caseId) {
    this.app = app;
    this.caseId = caseId;
    this.items = []; // in stream order; unacknowledged own messages last
    this.byId = new Map();
    this.byCid = new Map();
    this.readUpTo = ""; // the other side has read up to here
    this.lastOther = ""; // the newest entry from the other side
    this.el = null; // the log element while it is shown (the chat, or the history while waiting)
  }

  // A fresh log element with every entry so far (each render makes one).
  build() {
    this.el = h("div", {
      class: "log",
      id: "log",
      role: "log",
      "aria-live": "polite",
      "aria-labelledby": "log-label",
      tabindex: "0",
    });
    for (const item of this.items) {
      item.el = this.itemEl(item);
      this.el.append(item.el);
    }
    return this.el;
  }

  // The log is no longer shown.
  detach() {
    this.el = null;
    for (const item of this.items) item.el = null;
  }

  reset() {
    this.items = [];
    this.byId.clear();
    this.byCid.clear();
    this.lastOther = "";
    if (this.el) clear(this.el);
  }

  // The first entry from the other side after this id (what this browser had shown as read).
  firstOtherAfter(id) {
    return this.items.find((item) => !item.own && item.id && compareIds(item.id, id) > 0);
  }

  // An entry from the stream. Returns the new item, or null when there is none to show: staff
  // only, already here, or the citizen's own message coming back stored (its mark moves on).
  add(frame) {
    if (frame.staff_only || this.byId.has(frame.id)) return null;
    const own = frame.from === this.app.me?.uid;
    const mine = own && frame.cid ? this.byCid.get(frame.cid) : null;
    if (mine) {
      if (!mine.id) {
        mine.id = frame.id;
        this.byId.set(frame.id, mine);
      }
      if (mine.status === "sending") mine.status = "sent";
      this.updateStatus(mine);
      return null;
    }
    const item = { id: frame.id, cid: frame.cid || "", frame, own, status: own ? "sent" : "" };
    let index = this.items.findIndex((other) => !other.id || compareIds(other.id, frame.id) > 0);
    if (index < 0) index = this.items.length;
    this.items.splice(index, 0, item);
    this.byId.set(frame.id, item);
    if (own && frame.cid) this.byCid.set(frame.cid, item);
    if (own) this.applyRead(item);
    else this.lastOther = frame.id;
    if (this.el) {
      item.el = this.itemEl(item);
      this.el.insertBefore(item.el, this.items[index + 1]?.el || null);
    }
    return item;
  }

  // The citizen's message on its way (hub.send's cid and stored promise), shown as frame.
  // Returns whether it went into a shown log.
  addOwn(cid, stored, frame) {
    const item = { id: "", cid, frame, own: true, status: "sending" };
    this.items.push(item);
    this.byCid.set(cid, item);
    if (this.el) {
      item.el = this.itemEl(item);
      this.el.append(item.el);
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
    return Boolean(this.el);
  }

  // The other side has read up to this id: the citizen's own entries up to it are read.
  readTo(id) {
    if (this.readUpTo && compareIds(id, this.readUpTo) <= 0) return;
    this.readUpTo = id;
    for (const item of this.items) if (item.own && this.applyRead(item)) this.updateStatus(item);
  }

  applyRead(item) {
    if (item.status !== "sent" || !item.id || !this.readUpTo) return false;
    if (compareIds(item.id, this.readUpTo) > 0) return false;
    item.status = "read";
    return true;
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
        h("span", { class: "role" }, roleText(t, item)),
        when ? h("span", { class: "visually-hidden" }, ", ") : null,
        when ? h("time", { datetime: when.toISOString() }, clock(f.ts, i18n.lang)) : null,
      ),
      photo,
      text ? h("p", { class: "text" }, text) : null,
      system && f.code === "booking" && f.booking ? bookingCard(this.app, f.booking, { heading: "h4", open: true }) : null,
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
}
