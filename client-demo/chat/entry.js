// The start screen (logged out) and the entry screen (who and what it is about).

import { clear, focusFirst, h } from "../shared/dom.js";
import { myBookingsButton } from "./booking.js";

const ENTRIES = ["seek_care", "vaccination", "youth_clinic", "child_health", "admin"];

export class StartScreen {
  constructor(app) {
    this.app = app;
  }

  render() {
    const { t } = this.app;
    const canLogin = Boolean(this.app.loginUrl());
    const unit = this.app.unitName;
    clear(
      this.app.main,
      h(
        "section",
        { class: "card intro" },
        h("h2", {}, unit ? t("app.unit", { unit }) : t("start.heading")),
        h("p", { class: "lead" }, t("start.lead")),
        canLogin
          ? h(
              "button",
              { type: "button", class: "primary big", onclick: () => this.app.login() },
              t("start.login"),
            )
          : h("p", { class: "banner warn" }, t("start.nologin")),
        canLogin && this.app.popupLogin ? h("p", { class: "hint" }, t("login.popup")) : null,
        h("p", { role: "status", class: this.app.loginNote ? "banner warn" : null }, this.app.loginNote ? t(this.app.loginNote) : ""),
        h("h3", {}, t("start.how")),
        h("ol", { class: "steps" }, h("li", {}, t("start.step1")), h("li", {}, t("start.step2")), h("li", {}, t("start.step3"))),
      ),
      h("p", { class: "banner danger emergency-note" }, t("start.emergency")),
    );
  }
}

export class EntryScreen {
  constructor(app) {
    this.app = app;
    this.children = null;
    this.forWhom = "";
    this.error = "";
    this.busy = false;
    this.load();
  }

  async load() {
    try {
      this.children = (await this.app.api.call("GET", "/api/me/children")).children;
    } catch {
      this.children = [];
    }
    if (this.app.screen === this) {
      const focused = document.activeElement;
      const inside = this.app.main.contains(focused);
      this.render();
      const again = focused && focused.id ? document.getElementById(focused.id) : null;
      if (again) again.focus();
      else if (inside) focusFirst(this.app.main);
    }
  }

  render() {
    const { t } = this.app;
    const people = [{ pnr: "", label: t("entry.me") }].concat(
      (this.children || []).map((c) => ({
        pnr: c.pnr,
        label: c.age < 2 && c.age_months !== undefined
          ? t("entry.infant", { name: c.name, months: c.age_months })
          : t("entry.child", { name: c.name, age: c.age }),
      })),
    );
    const who = h(
      "fieldset",
      { class: "choices who-choice", role: "radiogroup" },
      h("legend", {}, t("entry.who")),
      people.map((p, i) =>
        h(
          "div",
          { class: "choice" },
          h("input", {
            type: "radio",
            name: "who",
            id: `who-${i}`,
            value: p.pnr,
            checked: p.pnr === this.forWhom,
            onchange: () => (this.forWhom = p.pnr),
          }),
          h("label", { for: `who-${i}` }, p.label),
        ),
      ),
    );
    const entries = h(
      "ul",
      { class: "entries" },
      ENTRIES.map((entry) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "entry",
              id: `entry-${entry}`,
              "aria-describedby": `entry-${entry}-help`,
              disabled: this.busy,
              onclick: () => this.start(entry),
            },
            t(`entry.${entry}`),
          ),
          h("span", { class: "hint", id: `entry-${entry}-help` }, t(`entry.${entry}.help`)),
          entry === "admin" ? myBookingsButton(this.app) : null, // cancel or rebook (chat/booking.js)
        ),
      ),
    );
    clear(
      this.app.main,
      h(
        "section",
        { class: "card" },
        h("h2", {}, t("entry.heading")),
        this.error ? h("p", { class: "banner danger", role: "alert" }, this.error) : null,
        who,
        h("h3", { class: "entries-heading" }, t("entry.choose")),
        entries,
      ),
    );
  }

  async start(entry) {
    if (this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      const body = { entry, lang: this.app.i18n.lang };
      if (this.forWhom) body.child = this.forWhom;
      const view = await this.app.api.call("POST", "/api/triage", body);
      this.busy = false;
      this.app.startTriage(view);
    } catch (err) {
      this.busy = false;
      this.error = this.app.errorText(err);
      this.render();
      this.app.main.querySelector("[role=alert]")?.focus?.();
      document.getElementById(`entry-${entry}`)?.focus();
    }
  }
}
