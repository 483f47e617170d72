// The patient's earlier contacts beside a chat (GET /api/staff/cases/{case}/earlier): the
// patient's other cases at the units this staff member serves, newest first, each with date,
// unit, reason, care level and outcome. A button opens one's transcript, read only, in a
// dialog; it is fetched only then. The server audits every read (docs/protocol.md §5).

import { h, clear, clock } from "../shared/dom.js";
import { recordLinks } from "./record.js";

const PAGE = 500; // entries per transcript request (the server's default page)
const MAX_PAGES = 20; // a transcript longer than this is shown in part, and says so

export class EarlierContacts {
  constructor(chat) {
    this.chat = chat;
    this.ctx = chat.ctx;
    this.items = null; // null while loading
    this.error = "";
    this.root = h("section", { class: "earlier", "aria-labelledby": `earlier-h-${chat.n}` });
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  async load() {
    this.error = "";
    try {
      const data = await this.ctx.api.call("GET", `/api/staff/cases/${encodeURIComponent(this.chat.case)}/earlier`);
      this.items = data.earlier || [];
    } catch (err) {
      this.error = err.message;
    }
    this.render();
  }

  render() {
    const n = this.chat.n;
    const heading = h("h3", { id: `earlier-h-${n}` }, this.t("earlier_heading"));
    let body;
    if (this.error) body = h("p", { class: "earlier-status" }, this.t("earlier_failed", { message: this.error }));
    else if (this.items === null) body = h("p", { class: "earlier-status" }, this.t("loading"));
    else if (!this.items.length) body = h("p", { class: "earlier-status" }, this.t("earlier_none"));
    else body = h("ul", { class: "earlier-list" }, this.items.map((item, i) => this.itemEl(item, `earlier-${n}-${i}`)));
    clear(this.root, heading, h("p", { class: "hint" }, this.t("earlier_hint")), body);
  }

  itemEl(item, id) {
    const t = (key, values) => this.t(key, values);
    const pick = (text) => this.ctx.i18n.pick(text);
    const facts = [
      [t("earlier_unit"), item.unit_name],
      item.care_level ? [t("care_level"), t(`care_${item.care_level}`)] : null,
      [t("outcome"), item.outcome_label ? pick(item.outcome_label) : t("earlier_open")],
      item.staff_name ? [t("earlier_handled_by"), this.handler(item)] : null,
    ].filter(Boolean);
    return h(
      "li",
      { class: "contact" },
      h("h4", { id }, h("time", { datetime: new Date(item.created_ms).toISOString() }, this.when(item.created_ms)), " · ", this.reason(item)),
      h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "—")])),
      h("button", { type: "button", "aria-describedby": id, onclick: (e) => this.open(item, e.currentTarget) }, t("earlier_show")),
      item.state === "closed" ? recordLinks(this.ctx, item.case, id) : null,
    );
  }

  reason(item) {
    const reason = item.reason || {};
    return (reason.label && this.ctx.i18n.pick(reason.label)) || reason.code || "—";
  }

  handler(item) {
    return item.profession ? `${item.staff_name} (${this.t(`skill_${item.profession}`)})` : item.staff_name;
  }

  // "2026-03-03 14:05" (sv) / "03/03/2026, 14:05" (en), Stockholm time.
  when(ms) {
    const lang = this.ctx.i18n.lang;
    return new Date(ms).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", {
      dateStyle: "short",
      timeStyle: "short",
      timeZone: "Europe/Stockholm",
    });
  }

  // -- the transcript, on request --------------------------------------------------------

  async open(item, opener) {
    const title = `${this.when(item.created_ms)} · ${this.reason(item)}`;
    const status = h("p", { class: "earlier-status", role: "status" }, this.t("loading"));
    const log = h("div", { class: "elog", role: "region", tabindex: "0", "aria-label": this.t("earlier_transcript", { title }) });
    const dialogs = this.ctx.dialogs;
    dialogs.show(
      "earlier",
      opener,
      h(
        "div",
        { class: "dlg-head" },
        h("h2", { id: "dlg-h" }, this.t("earlier_dialog", { title })),
        h("button", { type: "button", onclick: () => dialogs.dialog.close() }, this.t("close_viewer")),
      ),
      h("p", { class: "dlg-sub" }, `${item.unit_name} · ${this.t("earlier_read_only")}`),
      status,
      log,
    );
    log.focus();
    try {
      const { messages, complete } = await this.transcript(item.case);
      clear(log, messages.map((m) => this.messageEl(item.case, m)));
      status.textContent = !messages.length ? this.t("earlier_no_messages") : complete ? "" : this.t("earlier_partial");
    } catch (err) {
      status.textContent = this.t("earlier_transcript_failed", { message: err.message });
    }
  }

  // Every page of the transcript (staff view, journal notes included), up to MAX_PAGES of them.
  async transcript(caseId) {
    const path = `/api/staff/cases/${encodeURIComponent(caseId)}/transcript`;
    let page = await this.ctx.api.call("GET", `${path}?limit=${PAGE}`);
    const messages = [...page.messages];
    for (let i = 1; page.next && i < MAX_PAGES; i++) {
      const query = new URLSearchParams({ after: page.next, epoch: page.epoch, limit: String(PAGE) });
      page = await this.ctx.api.call("GET", `${path}?${query}`);
      messages.push(...page.messages);
    }
    return { messages, complete: !page.next };
  }

  messageEl(caseId, m) {
    const lang = this.ctx.i18n.lang;
    const time = m.ts ? h("time", { datetime: new Date(m.ts).toISOString() }, clock(m.ts, lang)) : null;
    if (m.k === "system") {
      return h("div", { class: "msg system" }, h("p", {}, lang === "en" && m.text_en ? m.text_en : m.text, " ", time));
    }
    const sender = m.from && m.from === this.ctx.me.uid ? this.t("you") : m.name || this.chat.roleLabel(m.role);
    const photo =
      m.k === "photo" && m.photo
        ? h("img", {
            class: "photo",
            src: `/api/cases/${encodeURIComponent(caseId)}/photos/${encodeURIComponent(m.photo)}`,
            alt: this.t("photo_alt", { name: sender }),
          })
        : null;
    const kind = m.k === "note" ? (m.code === "journal" ? this.t("note_journal") : m.code === "transfer" ? this.t("note_transfer") : "") : "";
    return h(
      "div",
      { class: `msg ${m.k === "note" ? "note" : String(m.from || "").startsWith("s-") ? "own" : "peer"}` },
      m.k === "note" ? h("p", { class: "notehead" }, h("strong", {}, this.t("note_heading")), kind ? ` · ${kind}` : "") : null,
      h("p", { class: "meta" }, h("span", { class: "sender" }, sender), ` (${this.chat.roleLabel(m.role)}) `, time),
      photo,
      m.text ? h("p", { class: "text" }, m.text) : null,
    );
  }
}
