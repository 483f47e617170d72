// The citizen chat: which screen is showing, and the things every screen shares
// (the header, the language, the connection banner, the login state).
//
// Screens are objects with render() (build into <main>; called again when the
// language changes), and optionally destroy(), onFrame(frame), onHistoryLost().
// Flow: start → entry → triage → result → case (waiting → chat → closed).

import { Api, ApiError } from "../shared/api.js";
import { $, clear, focusFirst, h } from "../shared/dom.js";
import { applyBrand } from "../shared/brand.js";
import { Hub } from "../shared/hub.js";
import { I18n } from "../shared/i18n.js";
import { store, stored, unstore } from "../shared/storage.js";
import { CaseScreen } from "./case.js";
import { framed, popupLogin } from "./embedlogin.js";
import { EntryScreen, StartScreen } from "./entry.js";
import { unlockAudio } from "./sound.js";
import { STRINGS } from "./strings.js";
import { TriageScreen } from "./triage.js";

const params = new URLSearchParams(location.search);
const UNIT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TRIAGE_KEY = "direkt.triage";

function initialLang() {
  const asked = params.get("lang");
  return asked === "en" || asked === "sv" ? asked : "sv";
}

export class App {
  constructor() {
    this.api = new Api();
    this.hub = new Hub(this.api);
    this.i18n = new I18n(STRINGS, initialLang());
    this.embed = params.get("embed") === "1";
    this.popupLogin = this.embed && framed(); // the login runs in a pop-up (chat/embedlogin.js)
    this.loginNote = "";
    const unit = params.get("unit") || "";
    this.unit = UNIT_ID.test(unit) ? unit : "";
    this.unitName = "";
    this.config = { citizen_login: "", test_environment: false };
    this.me = null;
    this.screen = null;
    this.hubStarted = false;
    this.main = $("#main");
    this.conn = $("#conn");
    this.t = (key, values) => this.i18n.t(key, values);

    this.i18n.addEventListener("change", () => {
      this.renderChrome();
      if (this.screen) this.screen.render();
    });
    this.hub.addEventListener("state", (e) => this.onHubState(e.detail.state));
    this.hub.addEventListener("frame", (e) => this.screen?.onFrame?.(e.detail.frame));
    this.hub.addEventListener("history_lost", (e) => this.screen?.onHistoryLost?.(e.detail.case));
    // Browsers allow sound only after a user gesture: open the audio on the first one.
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockAudio, { passive: true });
    // Headings that get focus after a step (for screen readers) show a ring only to keyboard users:
    // Chromium counts a focus moved by script before any click as :focus-visible (chat.css).
    document.addEventListener("keydown", (e) => e.key === "Tab" && document.documentElement.classList.add("keyboard"));
    document.addEventListener("pointerdown", () => document.documentElement.classList.remove("keyboard"));
    document.addEventListener("keydown", (e) => this.onKey(e));
    $("#lang").addEventListener("click", () => this.i18n.set(this.i18n.lang === "sv" ? "en" : "sv"));
    if (this.embed) document.body.classList.add("embed");
  }

  // -- the parts outside <main> -------------------------------------------------------------

  renderChrome() {
    const t = this.t;
    const lang = $("#lang");
    lang.textContent = t("lang.switch");
    lang.lang = this.i18n.lang === "sv" ? "en" : "sv";
    $("#skip").textContent = this.i18n.lang === "sv" ? "Hoppa till innehållet" : "Skip to content";
    $("#brand-name").textContent = t("app.name");
    $("#app-heading").textContent = this.unitName ? t("app.unit", { unit: this.unitName }) : t("app.tagline");
    $("#footer-text").textContent = t("start.emergency");
    document.title = document.title.startsWith("(1)") ? t("ready.title") : t("app.title");
    clear($("#test-banner"), this.config.test_environment ? h("p", { class: "banner test" }, t("test.banner")) : null);
    const who = $("#who");
    if (this.me && this.me.role === "citizen") {
      clear(
        who,
        h("span", { class: "who-name" }, t("logged.in.as", { name: this.me.name })),
        h("button", { type: "button", class: "link", onclick: () => this.logout() }, t("logout")),
      );
    } else clear(who);
    this.renderConn();
  }

  renderConn() {
    const state = this.hubStarted ? this.hub.state : "open";
    this.conn.dataset.hub = this.hubStarted ? state : "idle"; // for tests and styles
    if (state === "reconnecting") {
      clear(this.conn, h("p", { class: "banner warn" }, this.t("conn.reconnecting")));
    } else clear(this.conn);
  }

  onHubState(state) {
    this.renderConn();
    this.screen?.onHubState?.(state);
    if (state === "ended" && this.hubStarted && !this.leaving) this.show(endedScreen(this));
  }

  onKey(event) {
    // In the clinic's page the widget's panel closes on Escape (unless a dialog is open here).
    if (event.key === "Escape" && this.embed && window.parent !== window && !$("dialog[open]")) {
      window.parent.postMessage({ type: "direkt:close" }, "*");
    }
  }

  // -- screens --------------------------------------------------------------------------------

  show(screen, { focus = true } = {}) {
    if (this.screen && this.screen !== screen) this.screen.destroy?.();
    this.screen = screen;
    screen.render();
    // The first screen is built with the header and banners final: show the page now (chat.css),
    // before focus moves (a hidden heading cannot take focus).
    document.body.classList.add("booted");
    if (focus) focusFirst(this.main);
    window.scrollTo(0, 0);
  }

  async boot() {
    this.renderChrome();
    try {
      this.config = await this.api.call("GET", "/api/client-config");
      applyBrand(this.config.brand, this.i18n);
    } catch {
      // Without the configuration we cannot log in; the start screen says so.
    }
    if (this.unit) {
      try {
        this.unitName = (await this.api.call("GET", `/api/units/${encodeURIComponent(this.unit)}`)).name || "";
      } catch {
        this.unit = ""; // not a unit we know: the citizen's own clinic is used
      }
    }
    try {
      this.me = await this.api.session();
    } catch (err) {
      this.renderChrome();
      return this.show(errorScreen(this, err, () => this.boot()));
    }
    this.renderChrome();
    if (!this.me || this.me.role !== "citizen") return this.show(new StartScreen(this), { focus: false });
    await this.resume();
  }

  // Where a logged-in citizen continues: an open case, an unfinished triage, or the entry.
  async resume() {
    try {
      const { cases } = await this.api.call("GET", "/api/cases");
      const open = cases.filter((c) => !c.closed_ms).sort((a, b) => b.created_ms - a.created_ms);
      for (const item of open) {
        const status = await this.api.call("GET", `/api/cases/${encodeURIComponent(item.case)}`);
        if (status.state !== "closed" && status.state !== "abandoned") return this.openCase(status);
      }
      const tid = stored("session", TRIAGE_KEY);
      if (tid) {
        try {
          const view = await this.api.call("GET", `/api/triage/${encodeURIComponent(tid)}`);
          if (!view.case) return this.show(new TriageScreen(this, view));
        } catch {
          // expired or not ours: start afresh
        }
        unstore("session", TRIAGE_KEY);
      }
      this.show(new EntryScreen(this));
    } catch (err) {
      this.show(errorScreen(this, err, () => this.resume()));
    }
  }

  startTriage(view) {
    store("session", TRIAGE_KEY, view.id);
    this.show(new TriageScreen(this, view));
  }

  openCase(status) {
    unstore("session", TRIAGE_KEY);
    if (!this.hubStarted) {
      this.hubStarted = true;
      this.hub.start();
    }
    this.show(new CaseScreen(this, status));
  }

  toEntry() {
    unstore("session", TRIAGE_KEY);
    this.show(new EntryScreen(this));
  }

  loginUrl() {
    const target = this.config.citizen_login;
    if (!target) return "";
    return `${target}?next=${encodeURIComponent(location.pathname + location.search)}`;
  }

  login() {
    unlockAudio();
    const url = this.loginUrl();
    if (!url) return;
    if (this.popupLogin) return this.loginInPopup();
    location.assign(url);
  }

  async loginInPopup() {
    this.loginNote = "";
    try {
      if (await popupLogin(this.api, this.config.citizen_login, this.i18n.lang)) return location.reload();
      this.loginNote = "login.popup.closed";
    } catch (err) {
      this.loginNote = err instanceof ApiError && err.status === 0 ? "error.network" : "login.popup.failed";
    }
    this.screen?.render();
  }

  async logout() {
    this.leaving = true;
    try {
      await this.api.logout();
    } catch {
      // logged out already, or offline: the reload shows the truth
    }
    unstore("session", TRIAGE_KEY);
    location.replace(location.pathname + location.search);
  }

  // A readable message for an ApiError (the server's own message when it has one).
  errorText(err) {
    if (err instanceof ApiError) {
      if (err.status === 0) return this.t("error.network");
      if (err.status >= 500) return this.t("error.generic");
      if (err.text) return this.i18n.pick(err.text);
      return err.message || this.t("error.generic");
    }
    return this.t("error.generic");
  }
}

// A card with a heading, a text and one action: the session ended, or an error to retry.
// The words come from a function, so a language switch re-renders them.
class NoticeScreen {
  constructor(app, words, onAction, { alert = false } = {}) {
    Object.assign(this, { app, words, onAction, alert });
  }

  render() {
    const { heading, text, action } = this.words();
    clear(
      this.app.main,
      h(
        "section",
        { class: "card" },
        h("h2", {}, heading),
        h("p", { role: this.alert ? "alert" : null }, text),
        h("button", { type: "button", class: "primary", onclick: () => this.onAction() }, action),
      ),
    );
  }
}

function endedScreen(app) {
  const { t } = app;
  const words = () => ({ heading: t("ended.heading"), text: t("ended.text"), action: t("ended.login") });
  return new NoticeScreen(app, words, () => app.login());
}

function errorScreen(app, error, retry) {
  const { t } = app;
  const words = () => ({ heading: t("error.title"), text: app.errorText(error), action: t("retry") });
  return new NoticeScreen(app, words, retry, { alert: true });
}

const app = new App();
window.direkt = { hub: app.hub, api: app.api, app };
app.boot();
