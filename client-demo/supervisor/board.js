// One unit on the supervisor's board: its queues and waiting cases (rendered afresh on each
// poll), its staff and their chats with release and reassign, and its steering (intake,
// notice, closure days). Parts with controls are rebuilt only when what they show changed,
// so a poll never takes away what the supervisor is typing or the keyboard focus.

import { h, clear, clock, duration } from "../shared/dom.js";

const INTAKE_MINUTES = [30, 60, 120, 240, 480, 720];
const NOTICE_MINUTES = [60, 120, 240, 480, 1440];

export class UnitBoard {
  constructor(ctx, unitId) {
    this.ctx = ctx;
    this.id = unitId;
    this.heading = h("h2", { id: `unit-${unitId}-heading` });
    this.summary = h("p", { class: "summary" });
    this.statsLink = h("a", { class: "unit-stats", href: `/stats/?unit=${encodeURIComponent(unitId)}` });
    this.queues = h("div", { class: "table-wrap" });
    this.cases = h("div", { class: "table-wrap" });
    this.staff = h("div", { class: "table-wrap" });
    this.chats = h("div", { class: "chats" });
    this.steer = h("div", { class: "steer" });
    this.root = h(
      "section",
      { class: "unit card", id: `unit-${unitId}`, "aria-labelledby": `unit-${unitId}-heading`, "data-unit": unitId },
      this.heading,
      this.summary,
      h("p", {}, this.statsLink),
      h("div", { class: "columns" }, h("div", { class: "live" }, this.queues, this.cases, this.staff, this.chats), this.steer),
    );
    this.keys = {};
  }

  forget() {
    this.keys = {};
  }

  // Rebuild ``el`` only when ``key`` changed.
  patch(el, name, key, render) {
    const full = `${this.ctx.i18n.lang}|${key}`;
    if (this.keys[name] === full) return;
    this.keys[name] = full;
    clear(el, render());
  }

  update(unit, now) {
    const t = this.ctx.t;
    this.unit = unit;
    this.heading.textContent = unit.name;
    this.summary.textContent = t("unit_summary", unit);
    this.statsLink.textContent = t("unit_stats", { name: unit.name });
    clear(this.queues, this.queueTable(unit, now));
    clear(this.cases, this.caseTable(unit, now));
    clear(this.staff, this.staffTable(unit));
    const chatsKey = JSON.stringify([unit.chats, unit.staff.map((s) => [s.id, s.name])]);
    this.patch(this.chats, "chats", chatsKey, () => this.chatList(unit));
    const steerKey = JSON.stringify([unit.intake_closed, unit.notice, unit.closed_days]);
    this.patch(this.steer, "steer", steerKey, () => this.steering(unit));
  }

  // -- live tables ------------------------------------------------------------------------

  queueTable(unit, now) {
    const t = this.ctx.t;
    const head = ["col_skill", "col_depth", "col_urgency", "col_oldest", "col_left", "col_breached", "col_soon"];
    const rows = unit.queues.map((q) =>
      h(
        "tr",
        { "data-skill": q.skill },
        h("th", { scope: "row" }, t(`skill_${q.skill}`)),
        h("td", { class: "num depth" }, String(q.depth)),
        h("td", {}, Object.entries(q.by_urgency).sort().map(([u, n]) => `U${u}: ${n}`).join(", ") || "–"),
        h("td", {}, q.oldest ? duration(now - q.oldest.submitted_ms) : "–"),
        h("td", {}, q.oldest ? this.left(q.oldest, now) : "–"),
        h("td", { class: q.breached ? "num bad" : "num" }, String(q.breached)),
        h("td", { class: q.soon ? "num warn" : "num" }, String(q.soon)),
      ),
    );
    return table(t("queues_caption"), head.map((k) => t(k)), rows, "queues");
  }

  left(row, now) {
    const ms = row.deadline_ms - now;
    return ms > 0 ? duration(ms) : this.ctx.t("over_by", { time: duration(-ms) });
  }

  caseTable(unit, now) {
    const t = this.ctx.t;
    const rows = unit.queues.flatMap((q) => q.cases).sort((a, b) => a.deadline_ms - b.deadline_ms);
    if (!rows.length) return h("p", { class: "muted none-waiting" }, t("none_waiting"));
    const head = ["col_case", "col_reason", "col_level", "col_waited", "col_deadline", "col_state"].map((k) => t(k));
    const body = rows.map((c) =>
      h(
        "tr",
        { "data-case": c.case, class: `state-${c.state}` },
        h("th", { scope: "row" }, h("code", {}, c.case)),
        h("td", {}, c.label ? this.ctx.i18n.pick(c.label) : "–"),
        h("td", {}, `U${c.urgency}`),
        h("td", {}, duration(now - c.submitted_ms)),
        h("td", {}, `${clock(c.deadline_ms, this.ctx.i18n.lang)} (${this.left(c, now)})`),
        h("td", {}, h("span", { class: `pill ${c.state}` }, t(`state_${c.state}`))),
      ),
    );
    return table(t("cases_caption"), head, body, "cases");
  }

  staffTable(unit) {
    const t = this.ctx.t;
    const head = ["col_name", "col_skill", "col_status", "col_chats"].map((k) => t(k));
    const rows = unit.staff.map((s) =>
      h(
        "tr",
        { "data-staff": s.id },
        h("th", { scope: "row" }, s.name),
        h("td", {}, s.skills.map((k) => t(`skill_${k}`)).join(", ")),
        h("td", {}, h("span", { class: `pill ${s.status}` }, t(`status_${s.status}`))),
        h("td", {}, s.chats.length ? `${s.chats.length}: ${s.chats.map((c) => c.case).join(", ")}` : "0"),
      ),
    );
    return table(t("staff_caption"), head, rows, "staff");
  }

  // -- chats: release or reassign ---------------------------------------------------------

  chatList(unit) {
    const t = this.ctx.t;
    const names = new Map(unit.staff.map((s) => [s.id, s.name]));
    const items = unit.chats.map((chat) => {
      const id = `reassign-${chat.case}`;
      const select = h(
        "select",
        { id },
        chat.takers.map((staffId) => h("option", { value: staffId }, names.get(staffId) || staffId)),
      );
      const name = names.get(chat.holder) || chat.holder;
      return h(
        "li",
        { class: "chat", "data-case": chat.case, "data-holder": chat.holder },
        h("p", {}, t("chat_of", { case: chat.case, name })),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "release", onclick: () => this.release(chat) }, t("release")),
          chat.takers.length
            ? [
                h("label", { for: id }, t("reassign_to")),
                select,
                h("button", { type: "button", class: "reassign", onclick: () => this.reassign(chat, select.value, names) }, t("reassign")),
              ]
            : h("span", { class: "muted" }, t("no_takers")),
        ),
      );
    });
    return [
      h("h3", {}, t("chats_heading")),
      items.length ? h("ul", { class: "chat-list" }, items) : h("p", { class: "muted" }, t("no_chats")),
    ];
  }

  async act(method, path, body, done) {
    try {
      await this.ctx.api.call(method, path, body);
      this.ctx.toast(done);
    } catch (err) {
      this.ctx.toast(this.ctx.t("failed", { message: err.message }), "danger");
    }
    this.ctx.refresh();
  }

  release(chat) {
    const path = `/api/supervision/cases/${encodeURIComponent(chat.case)}/release`;
    return this.act("POST", path, { holder: chat.holder }, this.ctx.t("released"));
  }

  reassign(chat, to, names) {
    const path = `/api/supervision/cases/${encodeURIComponent(chat.case)}/reassign`;
    return this.act("POST", path, { holder: chat.holder, to }, this.ctx.t("reassigned", { name: names.get(to) || to }));
  }

  // -- steering: intake, notice, closure days ---------------------------------------------

  steering(unit) {
    const t = this.ctx.t;
    const base = `/api/units/${encodeURIComponent(unit.unit)}`;
    return [
      h("h3", {}, t("steer_heading")),
      this.intakePart(unit, base),
      this.noticePart(unit, base),
      this.closurePart(unit, base),
    ];
  }

  intakePart(unit, base) {
    const t = this.ctx.t;
    const lang = this.ctx.i18n.lang;
    const closed = unit.intake_closed;
    if (closed) {
      return h(
        "div",
        { class: "part intake" },
        h("h4", {}, t("intake_heading")),
        h("p", { class: "banner warn intake-state" }, t("intake_closed", { time: clock(closed.until_ms, lang), text: closed.text })),
        h("button", { type: "button", class: "reopen", onclick: () => this.act("DELETE", `${base}/intake`, undefined, t("saved")) }, t("intake_reopen")),
      );
    }
    const ids = { text: `intake-text-${unit.unit}`, span: `intake-for-${unit.unit}` };
    const text = h("textarea", { id: ids.text, rows: 3, maxlength: 300 });
    text.value = t("intake_default");
    const span = durationSelect(ids.span, INTAKE_MINUTES, 60, t);
    const submit = (event) => {
      event.preventDefault();
      const until = Date.now() + Number(span.value) * 60000;
      this.act("PUT", `${base}/intake`, { until_ms: until, text: text.value }, t("saved"));
    };
    return h(
      "form",
      { class: "part intake", onsubmit: submit },
      h("h4", {}, t("intake_heading")),
      h("p", { class: "intake-state" }, t("intake_open")),
      h("div", { class: "field" }, h("label", { for: ids.text }, t("intake_text")), text),
      h("div", { class: "field" }, h("label", { for: ids.span }, t("intake_for")), span),
      h("button", { type: "submit", class: "danger close-intake" }, t("intake_close")),
    );
  }

  noticePart(unit, base) {
    const t = this.ctx.t;
    const notice = unit.notice;
    const ids = { text: `notice-text-${unit.unit}`, span: `notice-for-${unit.unit}` };
    const text = h("textarea", { id: ids.text, rows: 2, maxlength: 300 });
    const span = durationSelect(ids.span, NOTICE_MINUTES, 240, t);
    const submit = (event) => {
      event.preventDefault();
      const until = Date.now() + Number(span.value) * 60000;
      this.act("PUT", `${base}/notice`, { until_ms: until, text: text.value }, t("saved"));
    };
    return h(
      "form",
      { class: "part notice", onsubmit: submit },
      h("h4", {}, t("notice_heading")),
      notice
        ? [
            h("p", { class: "banner ok notice-state" }, t("notice_shown", { time: clock(notice.until_ms, this.ctx.i18n.lang), text: notice.text })),
            h("button", { type: "button", class: "clear-notice", onclick: () => this.act("DELETE", `${base}/notice`, undefined, t("saved")) }, t("notice_clear")),
          ]
        : h("p", { class: "notice-state" }, t("notice_none")),
      h("div", { class: "field" }, h("label", { for: ids.text }, t("notice_text")), text),
      h("div", { class: "field" }, h("label", { for: ids.span }, t("notice_for")), span),
      h("button", { type: "submit", class: "post-notice" }, t("notice_post")),
    );
  }

  // One-off closure days: POST/DELETE /api/units/{unit}/closure-days (the administration's endpoints).
  closurePart(unit, base) {
    const t = this.ctx.t;
    const id = `closure-date-${unit.unit}`;
    const date = h("input", { id, type: "date", required: true });
    const submit = (event) => {
      event.preventDefault();
      if (date.value) this.act("POST", `${base}/closure-days`, { date: date.value }, t("closure_added", { date: date.value }));
    };
    return h(
      "form",
      { class: "part closure", onsubmit: submit },
      h("h4", {}, t("closure_heading")),
      unit.closed_days.length
        ? h(
            "ul",
            { class: "closure-days" },
            unit.closed_days.map((day) =>
              h(
                "li",
                { "data-date": day },
                h("span", {}, day),
                " ",
                h(
                  "button",
                  {
                    type: "button",
                    class: "link",
                    onclick: () => this.act("DELETE", `${base}/closure-days/${day}`, undefined, t("closure_removed", { date: day })),
                  },
                  t("closure_remove", { date: day }),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, t("closure_none")),
      h("div", { class: "field" }, h("label", { for: id }, t("closure_date")), date),
      h("button", { type: "submit" }, t("closure_add")),
    );
  }
}

function durationSelect(id, choices, selected, t) {
  return h(
    "select",
    { id },
    choices.map((m) =>
      h("option", { value: String(m), selected: m === selected }, m < 60 ? t("minutes", { n: m }) : t("hours", { n: m / 60 })),
    ),
  );
}

function table(caption, head, rows, name) {
  return h(
    "table",
    { class: `grid ${name}` },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows),
  );
}
