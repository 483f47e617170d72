// Modal dialogs (native <dialog> with showModal: the rest of the page is inert,
// Escape closes, focus returns to the button that opened it): phrase
// templates, transfer, close.

import { h, clear } from "../shared/dom.js";
import { phraseEditor } from "./phraseeditor.js";
import { phraseMatches } from "./phrases.js";

const SKILLS = ["nurse", "doctor", "psychologist", "physiotherapist", "midwife", "administrator", "vaccination"];
const OUTCOMES = ["self_care_advice", "visit_booked", "referred", "video_consultation", "told_to_call_112", "no_contact"];
const ZOOM_STEPS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];
let serial = 0;

export class Dialogs {
  constructor(ctx) {
    this.ctx = ctx;
    this.dialog = h("dialog", { class: "dlg", "aria-labelledby": "dlg-h" });
    this.dialog.addEventListener("close", () => this.onClosed());
    document.body.append(this.dialog);
    this.opener = null;
    this.returnFocus = true;
  }

  t(key, values) {
    return this.ctx.i18n.t(key, values);
  }

  show(kind, opener, ...children) {
    if (this.dialog.open) this.dialog.close();
    this.opener = opener;
    this.returnFocus = true;
    this.dialog.dataset.kind = kind;
    clear(this.dialog, children);
    this.dialog.showModal();
  }

  // Closed by a choice that moves focus itself (template chosen, case ended).
  finish() {
    this.returnFocus = false;
    this.dialog.close();
  }

  onClosed() {
    const opener = this.opener;
    this.opener = null;
    if (this.returnFocus && opener && opener.isConnected) opener.focus();
  }

  heading(key) {
    return h("h2", { id: "dlg-h" }, this.t(key));
  }

  cancelButton() {
    return h("button", { type: "button", onclick: () => this.dialog.close() }, this.t("cancel"));
  }

  // -- phrase templates ------------------------------------------------------------------

  templates(chat, opener) {
    const lang = chat.file?.lang === "en" ? "en" : "sv";
    const search = h("input", { type: "search", id: "tpl-q", autocomplete: "off", "aria-controls": "tpl-list", "aria-describedby": "tpl-hint" });
    const list = h("ul", { class: "tpl-list", id: "tpl-list" });
    const status = h("p", { class: "tpl-status", role: "status" });
    let seq = 0;
    let timer = null;
    // Filling placeholders reads the case (an audited access): fetched once per
    // opening of the dialog, then searched here by the server's own rule.
    let all = null;
    const load = async () => {
      const mine = ++seq;
      try {
        all ??= (await this.ctx.api.call("GET", `/api/staff/templates?case=${encodeURIComponent(chat.case)}`)).templates || [];
        if (mine !== seq) return;
        const items = all.filter((tpl) => phraseMatches(tpl, search.value));
        clear(
          list,
          items.map((tpl) => {
            const id = `tpl-${++serial}`;
            const text = (tpl.filled && tpl.filled[lang]) || (tpl.text && tpl.text[lang]) || "";
            return h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "tpl",
                  "aria-labelledby": `${id}-t`,
                  "aria-describedby": `${id}-x`,
                  onclick: () => {
                    this.finish();
                    chat.useTemplate(tpl);
                  },
                },
                h("span", { class: "tpl-title", id: `${id}-t` }, tpl.title, tpl.personal ? h("span", { class: "tpl-tag" }, ` (${this.t("personal")})`) : null),
                h("span", { class: "tpl-text", id: `${id}-x` }, text),
              ),
            );
          }),
        );
        status.textContent = items.length === 0 ? this.t("templates_none") : items.length === 1 ? this.t("templates_1") : this.t("templates_n", { n: items.length });
      } catch (err) {
        if (mine === seq) status.textContent = this.t("templates_failed", { message: err.message });
      }
    };
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        const first = list.querySelector("button");
        if (first) {
          event.preventDefault();
          first.focus();
        }
      } else if (event.key === "Enter") {
        event.preventDefault();
        clearTimeout(timer);
        load();
      }
    });
    list.addEventListener("keydown", (event) => {
      const buttons = [...list.querySelectorAll("button")];
      const index = buttons.indexOf(document.activeElement);
      if (index < 0) return;
      if (event.key === "ArrowDown" && index < buttons.length - 1) buttons[index + 1].focus();
      else if (event.key === "ArrowUp") (index > 0 ? buttons[index - 1] : search).focus();
      else return;
      event.preventDefault();
    });
    this.show(
      "templates",
      opener,
      h(
        "div",
        { class: "dlg-head" },
        this.heading("templates_heading"),
        h("span", { class: "phrase-actions" }, h("button", { type: "button", onclick: () => phraseEditor(this.ctx, opener) }, this.t("edit_phrase_bank")), this.cancelButton()),
      ),
      h("label", { for: "tpl-q" }, this.t("template_search")),
      search,
      h("p", { id: "tpl-hint", class: "hint" }, this.t("template_hint", { lang: this.t(lang === "en" ? "lang_en" : "lang_sv") })),
      status,
      list,
    );
    search.focus();
    load();
  }

  // -- transfer --------------------------------------------------------------------------

  // Only units that can take this patient (by age), by name; each says whether it is open and how
  // many wait, so that the nurse can see where the patient would wait and for how long.
  async transfer(chat, opener) {
    const age = chat.file?.triage?.age;
    const units = await this.ctx.transferUnits(age);
    const current = chat.unit || this.ctx.staff.units[0];
    const unit = h(
      "select",
      { id: "tr-unit", required: true, "aria-describedby": "tr-unit-info" },
      units.map((u) => h("option", { value: u.id, selected: u.id === current }, this.unitOption(u))),
    );
    const unitInfo = h("p", { id: "tr-unit-info", class: "hint" });
    const mine = this.ctx.staff.profession;
    const skill = h("select", { id: "tr-skill", required: true });
    // Only the professions the chosen unit serves (every one when the server does not say).
    const fillSkills = () => {
      const chosen = units.find((u) => u.id === unit.value);
      const offered = SKILLS.filter((s) => !chosen || !chosen.skills || chosen.skills.includes(s));
      const keep = skill.value || (mine === "nurse" ? "doctor" : "nurse");
      clear(
        skill,
        offered.map((s) => h("option", { value: s, selected: s === keep }, this.skillOption(chosen, s))),
      );
      unitInfo.textContent = chosen ? this.unitInfo(chosen) : "";
    };
    fillSkills();
    unit.addEventListener("change", fillSkills);
    const note = h("textarea", { id: "tr-note", rows: "4", maxlength: "8000" });
    const error = h("p", { class: "dlg-error", role: "alert" });
    const confirm = h("button", { type: "submit", class: "primary" }, this.t("transfer_confirm"));
    const form = h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          if (chat.ending) return;
          error.textContent = "";
          chat.ending = true;
          chat.transferTo = {
            unit: units.find((u) => u.id === unit.value)?.name || unit.value,
            skill: this.t(`skill_${skill.value}`),
          };
          confirm.setAttribute("aria-disabled", "true");
          const reply = await this.ctx.hub
            .request({ t: "transfer", case: chat.case, unit: unit.value, skill: skill.value, note: note.value }, "done")
            .catch((err) => ({ t: "error", message: err.message === "disconnected" ? this.t("no_connection") : err.message }));
          confirm.removeAttribute("aria-disabled");
          if (reply.t === "error") {
            chat.ending = false;
            chat.transferTo = null;
            error.textContent = this.t("transfer_failed", { message: reply.message });
            return;
          }
          this.finish();
        },
      },
      h("p", {}, this.t("transfer_intro")),
      h(
        "div",
        { class: "field" },
        h("label", { for: "tr-unit" }, this.t("transfer_unit")),
        Number.isInteger(age) ? h("p", { class: "hint" }, this.t("transfer_units_for", { age })) : null,
        unit,
        unitInfo,
      ),
      h("div", { class: "field" }, h("label", { for: "tr-skill" }, this.t("transfer_skill")), skill),
      h("div", { class: "field" }, h("label", { for: "tr-note" }, this.t("transfer_note")), note),
      error,
      h("div", { class: "dlg-buttons" }, this.cancelButton(), confirm),
    );
    this.show("transfer", opener, this.heading("transfer_heading"), h("p", { class: "dlg-sub" }, chat.patientName()), form);
    unit.focus();
  }

  // "Annanby vårdcentral (öppen)" / "(stängd)"
  unitOption(u) {
    if (u.open === null || u.open === undefined) return u.name;
    return `${u.name} (${u.open ? this.t("unit_open") : this.t("unit_closed")})`;
  }

  // "Läkare (1 väntar)"
  skillOption(u, s) {
    const n = u?.waiting?.[s];
    const name = this.t(`skill_${s}`);
    return n === undefined ? name : `${name} (${this.t("waiting_n", { n })})`;
  }

  // "Öppen nu. I kö: sjuksköterska 0, läkare 1." / "Stängd, öppnar mån 08:00. …"
  unitInfo(u) {
    if (u.open === null || u.open === undefined) return "";
    const lang = this.ctx.i18n.lang;
    const opens = u.opens_ms
      ? new Date(u.opens_ms).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", {
          weekday: "short",
          hour: "2-digit",
          minute: "2-digit",
          timeZone: "Europe/Stockholm",
        })
      : "";
    const state = u.open ? this.t("unit_open_now") : opens ? this.t("unit_opens", { when: opens }) : this.t("unit_closed_now");
    const queues = Object.entries(u.waiting || {})
      .map(([s, n]) => `${this.t(`skill_${s}`).toLowerCase()} ${n}`)
      .join(", ");
    return queues ? `${state} ${this.t("unit_queues", { queues })}` : state;
  }

  // -- a photo, full size -----------------------------------------------------------------

  // Opens fitted to the window; zoom by buttons or + - 0 1; the stage scrolls (also by keyboard).
  photo(src, alt, opener) {
    const img = h("img", { src, alt, class: "viewer-img", draggable: "false" });
    const stage = h("div", { class: "viewer", tabindex: "0", role: "group", "aria-label": this.t("photo_stage") }, img);
    const level = h("p", { class: "zoom-level", role: "status" });
    let scale = 1;
    let fitted = true;
    const fitScale = () =>
      Math.min(1, (stage.clientWidth - 4) / img.naturalWidth, (stage.clientHeight - 4) / img.naturalHeight);
    const apply = () => {
      if (!img.naturalWidth) return;
      if (fitted) scale = fitScale();
      img.style.width = `${Math.round(img.naturalWidth * scale)}px`;
      img.style.height = `${Math.round(img.naturalHeight * scale)}px`;
      level.textContent = this.t("zoom_level", { n: Math.round(scale * 100) });
    };
    const zoom = (direction) => {
      const steps = ZOOM_STEPS.filter((z) => (direction > 0 ? z > scale + 0.001 : z < scale - 0.001));
      if (!steps.length) return;
      scale = direction > 0 ? steps[0] : steps[steps.length - 1];
      fitted = false;
      apply();
    };
    const actual = () => {
      fitted = false;
      scale = 1;
      apply();
    };
    const fit = () => {
      fitted = true;
      apply();
    };
    img.addEventListener("load", apply);
    const onKey = (event) => {
      const act = { "+": () => zoom(1), "=": () => zoom(1), "-": () => zoom(-1), 0: fit, 1: actual }[event.key];
      if (!act || event.ctrlKey || event.metaKey || event.altKey) return;
      event.preventDefault();
      act();
    };
    const button = (key, onclick) => h("button", { type: "button", onclick }, this.t(key));
    const box = h(
      "div",
      { class: "viewer-box", onkeydown: onKey },
      h(
        "div",
        { class: "dlg-head" },
        h("h2", { id: "dlg-h" }, alt),
        h("button", { type: "button", onclick: () => this.dialog.close() }, this.t("close_viewer")),
      ),
      h(
        "div",
        { class: "zoombar", role: "group", "aria-label": this.t("zoom"), "aria-describedby": "zoom-keys" },
        button("zoom_out", () => zoom(-1)),
        button("zoom_fit", fit),
        button("zoom_actual", actual),
        button("zoom_in", () => zoom(1)),
        level,
      ),
      h("p", { id: "zoom-keys", class: "hint" }, this.t("zoom_keys")),
      stage,
    );
    this.show("photo", opener, box);
    apply();
    stage.focus();
  }

  // -- close -----------------------------------------------------------------------------

  // Close ``chat`` with ``fields`` (outcome, note, and the unit of a referral or the booking of a visit):
  // true when done; otherwise the error is shown in ``error`` and the nurse may try again.
  async closeCase(chat, fields, confirm, error) {
    error.textContent = "";
    chat.ending = true;
    confirm.setAttribute("aria-disabled", "true");
    const reply = await this.ctx.hub
      .request({ t: "close", case: chat.case, ...fields }, "done")
      .catch((err) => ({ t: "error", message: err.message === "disconnected" ? this.t("no_connection") : err.message }));
    confirm.removeAttribute("aria-disabled");
    if (reply.t === "error") {
      chat.ending = false;
      error.textContent = this.t("close_failed", { message: reply.message });
      return false;
    }
    return true;
  }

  close(chat, opener) {
    const radios = OUTCOMES.map((outcome) => {
      const id = `out-${outcome}`;
      return h(
        "div",
        { class: "radio" },
        h("input", { type: "radio", name: "outcome", id, value: outcome, required: true }),
        h("label", { for: id }, this.t(`outcome_${outcome}`)),
      );
    });
    const note = h("textarea", { id: "cl-note", rows: "5", maxlength: "8000", "aria-describedby": "cl-hint" });
    const error = h("p", { class: "dlg-error", role: "alert" });
    const confirm = h("button", { type: "submit", class: "primary danger" }, this.t("close_confirm"));
    const form = h(
      "form",
      {
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          if (chat.ending) return;
          const chosen = form.querySelector("input[name=outcome]:checked");
          if (!chosen) {
            error.textContent = this.t("close_pick");
            form.querySelector("input[name=outcome]").focus();
            return;
          }
          if (await this.closeCase(chat, { outcome: chosen.value, note: note.value }, confirm, error)) this.finish();
        },
      },
      h("fieldset", { class: "outcomes" }, h("legend", {}, this.t("outcome")), radios),
      h(
        "div",
        { class: "field" },
        h("label", { for: "cl-note" }, this.t("journal_note")),
        h("p", { id: "cl-hint", class: "hint" }, this.t("journal_hint")),
        note,
      ),
      error,
      h("div", { class: "dlg-buttons" }, this.cancelButton(), confirm),
    );
    this.show("close", opener, this.heading("close_heading"), h("p", { class: "dlg-sub" }, chat.patientName()), form);
    form.querySelector("input[name=outcome]").focus();
  }
}
