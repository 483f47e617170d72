// The supervisor view: login (the console's staff login), the header, and the board,
// asked afresh from GET /api/supervision every few seconds.

import { Api, ApiError } from "../shared/api.js";
import { applyBrand } from "../shared/brand.js";
import { I18n } from "../shared/i18n.js";
import { h, clear, clock, $ } from "../shared/dom.js";
import { STRINGS } from "./strings.js";
import { UnitBoard } from "./board.js";

const POLL_MS = 3000;
const api = new Api();
const i18n = new I18n(STRINGS);
const app = $("#app");
const toasts = $("#toasts");
const t = (key, values) => i18n.t(key, values);
window.direkt = { api };

let config = {};
let relabel = () => {};
i18n.addEventListener("change", () => relabel());

function toast(text, kind = "ok") {
  const item = h("p", { class: `toast ${kind}` }, text);
  toasts.append(item);
  setTimeout(() => item.remove(), 6000);
}

async function boot() {
  config = await api.call("GET", "/api/client-config").catch(() => ({}));
  applyBrand(config.brand, i18n);
  document.title = t("app_title");
  const me = await api.session().catch(() => null);
  if (!me || me.role !== "staff") showLogin();
  else start(me);
}

function langButton() {
  const button = h("button", { type: "button", class: "link lang", onclick: () => i18n.set(t("other_lang_code")) });
  button.textContent = t("other_lang");
  button.lang = t("other_lang_code");
  return button;
}

function topbar(me) {
  const links = [
    h("a", { href: "/stats/", id: "stats-link" }, t("stats_link")),
    h("a", { href: "/console/", id: "console-link" }, t("console_link")),
  ];
  return [
    config.test_environment ? h("p", { class: "banner test" }, t("test_env")) : null,
    h(
      "header",
      { class: "topbar" },
      h("p", { class: "brand" }, h("img", { class: "brand-logo", src: config.brand?.logo || "/shared/icon.svg", alt: "" }), t("app_title")),
      me ? h("p", { class: "who" }, h("strong", {}, me.name)) : null,
      h("span", { class: "spacer" }),
      me ? h("nav", { class: "links", "aria-label": t("heading") }, links) : null,
      langButton(),
      me ? h("button", { type: "button", onclick: () => logout() }, t("logout")) : null,
    ),
  ];
}

async function logout() {
  await api.logout().catch(() => {});
  location.reload();
}

// -- login ------------------------------------------------------------------------------

function showLogin() {
  const render = () => {
    const user = h("input", { id: "login-user", name: "username", autocomplete: "username" });
    const pass = h("input", { id: "login-pass", name: "password", type: "password", autocomplete: "current-password" });
    const error = h("p", { id: "login-error", class: "login-error", role: "alert" });
    const form = h(
      "form",
      {
        class: "login-form",
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = "";
          if (!user.value.trim() || !pass.value) return (error.textContent = t("login_missing"));
          try {
            start(await api.loginStaff(user.value.trim(), pass.value));
          } catch (err) {
            const denied = err instanceof ApiError && (err.status === 401 || err.status === 403);
            error.textContent = denied ? t("login_failed") : err.message;
            pass.value = "";
            pass.focus();
          }
        },
      },
      h("div", { class: "field" }, h("label", { for: "login-user" }, t("username")), user),
      h("div", { class: "field" }, h("label", { for: "login-pass" }, t("password")), pass),
      error,
      h("button", { type: "submit", class: "primary" }, t("login")),
    );
    clear(app, ...topbar(null), h("main", { class: "login" }, h("h1", {}, t("login_heading")), h("p", { class: "muted" }, t("login_intro")), form));
    user.focus();
  };
  render();
  relabel = render;
}

// -- the board --------------------------------------------------------------------------

function start(me) {
  const roles = me.staff?.roles || [];
  if (!roles.includes("supervisor") && !roles.includes("admin")) {
    const render = () =>
      clear(app, ...topbar(me), h("main", { class: "login" }, h("h1", {}, t("heading")), h("p", { class: "banner warn", role: "alert" }, t("not_supervisor"))));
    render();
    relabel = render;
    return;
  }
  const boards = new Map(); // unit id -> UnitBoard
  const status = h("p", { class: "updated", id: "updated" });
  const units = h("div", { class: "units" });
  const heading = h("h1", { id: "board-heading", tabindex: "-1" });
  let last = null;
  const ctx = {
    api,
    i18n,
    t,
    toast,
    refresh: () => poll(),
  };

  const render = () => {
    heading.textContent = t("heading");
    clear(
      app,
      h("a", { class: "skip-link", href: "#board" }, t("skip_to_board")),
      ...topbar(me),
      h("main", { id: "board", class: "board", "aria-labelledby": "board-heading" }, heading, status, units),
    );
    for (const board of boards.values()) board.forget();
    if (last) show(last);
  };

  function show(data) {
    last = data;
    status.textContent = t("updated", { time: clock(data.now_ms, i18n.lang) });
    status.classList.remove("stale");
    if (!data.units.length) return clear(units, h("p", {}, t("no_units")));
    const seen = new Set();
    for (const unit of data.units) {
      seen.add(unit.unit);
      let board = boards.get(unit.unit);
      if (!board) {
        board = new UnitBoard(ctx, unit.unit);
        boards.set(unit.unit, board);
      }
      if (board.root.parentNode !== units) units.append(board.root);
      board.update(unit, data.now_ms);
    }
    for (const [id, board] of boards) if (!seen.has(id)) (board.root.remove(), boards.delete(id));
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    try {
      show(await api.call("GET", "/api/supervision"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return location.reload();
      status.textContent = t("stale", { message: err.message });
      status.classList.add("stale");
    }
    timer = setTimeout(poll, POLL_MS);
  }

  render();
  relabel = render;
  heading.focus();
  poll();
}

boot();
