// The administration page: an administrator edits staff, units and phrase templates in the
// live configuration (GET /api/admin/config; every save names the version it was made against
// with If-Match, and applies on every server within seconds).

import { Api, ApiError } from "../shared/api.js";
import { applyBrand } from "../shared/brand.js";
import { I18n } from "../shared/i18n.js";
import { h, clear, $ } from "../shared/dom.js";
import { STRINGS } from "./strings.js";
import { staffView } from "./staff.js";
import { unitsView } from "./units.js";
import { templatesView } from "./templates.js";

const api = new Api();
const i18n = new I18n(STRINGS);
const t = (key, values) => i18n.t(key, values);
const app = $("#app");
const status = $("#status");
let clientConfig = {};
let rerender = () => {};
i18n.addEventListener("change", () => rerender());

const VIEWS = { staff: staffView, units: unitsView, templates: templatesView };

// What every view shares: the configuration, saving, and the words.
const ctx = {
  t,
  i18n,
  config: null,
  async load() {
    ctx.config = await api.call("GET", "/api/admin/config");
    return ctx.config;
  },
  // A change with If-Match; the configuration is read again after it (ok or a conflict).
  async save(method, path, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": api.csrf, "If-Match": `"${ctx.config.version}"` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      const err = new ApiError(response.status, error.code || "http_error", error.message || response.statusText);
      err.field = error.field;
      if (err.code === "config_conflict") await ctx.load();
      throw err;
    }
    await ctx.load();
    say(t("saved"));
    return data;
  },
  unitName: (id) => (ctx.config.units.find((u) => u.id === id) || { name: id }).name,
};

function say(text) {
  status.textContent = text;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => (status.textContent = ""), 8000);
}

async function boot() {
  clientConfig = await api.call("GET", "/api/client-config").catch(() => ({}));
  applyBrand(clientConfig.brand, i18n);
  document.title = t("app_title");
  const me = await api.session().catch(() => null);
  if (!me || me.role !== "staff") return showLogin();
  start();
}

function top() {
  const lang = h("button", { type: "button", class: "link lang", lang: t("other_lang_code"), onclick: () => i18n.set(t("other_lang_code")) }, t("other_lang"));
  const logo = h("img", { class: "brand-logo", src: clientConfig.brand?.logo || "/shared/icon.svg", alt: "" });
  const who = api.me ? h("p", { class: "who" }, api.me.name) : null;
  const out = api.me ? h("button", { type: "button", class: "link", onclick: logout }, t("logout")) : null;
  return [
    clientConfig.test_environment ? h("p", { class: "banner test" }, t("test_env")) : null,
    h("header", { class: "topbar" }, h("p", { class: "brand" }, logo, t("app_title")), h("span", { class: "spacer" }), who, lang, out),
  ];
}

async function logout() {
  await api.logout().catch(() => {});
  location.reload();
}

function showLogin(message = "") {
  const render = () => {
    const user = h("input", { id: "login-user", autocomplete: "username" });
    const pass = h("input", { id: "login-pass", type: "password", autocomplete: "current-password" });
    const error = h("p", { class: "form-error", role: "alert" }, message);
    const form = h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await api.loginStaff(user.value.trim(), pass.value);
            start();
          } catch (err) {
            const denied = err instanceof ApiError && (err.status === 401 || err.status === 403);
            error.textContent = denied ? t("login_failed") : t("login_error", { message: err.message });
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
    clear(app, ...top(), h("main", { class: "login" }, h("h1", {}, t("login_heading")), form));
    user.focus();
  };
  render();
  rerender = render;
}

async function start() {
  try {
    await ctx.load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return showLogin(t("not_admin"));
    if (err instanceof ApiError && err.status === 401) return showLogin();
    throw err;
  }
  window.addEventListener("hashchange", () => show());
  show();
}

function current() {
  const name = location.hash.replace(/^#/, "");
  return VIEWS[name] ? name : "staff";
}

function show() {
  const name = current();
  const main = h("main", { class: "admin", id: "main" });
  const tab = (key, label) => h("a", { href: `#${key}`, "aria-current": key === name ? "page" : null }, label);
  const render = () => {
    clear(
      app,
      ...top(),
      h("nav", { class: "tabs", "aria-label": t("tabs") }, tab("staff", t("tab_staff")), tab("units", t("tab_units")), tab("templates", t("tab_templates"))),
      main,
    );
    VIEWS[name](main, ctx);
  };
  render();
  rerender = render;
}

boot();
