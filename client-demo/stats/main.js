// The statistics page for supervisors: filters (unit, period, grouping), key figures, and
// charts with their data tables, from GET /api/stats (docs/operations.md, "Statistics").
// The filters live in the address (?unit=&from=&to=&by=), so a view can be linked to.

import { Api, ApiError } from "../shared/api.js";
import { applyBrand } from "../shared/brand.js";
import { I18n } from "../shared/i18n.js";
import { h, clear, $, duration, focusFirst } from "../shared/dom.js";
import { chartFigure, dataTable } from "../shared/charts.js";
import { STRINGS } from "./strings.js";

const api = new Api();
const i18n = new I18n(STRINGS);
const app = $("#app");
const t = (key, values) => i18n.t(key, values);
const BUCKETS = ["hour", "day", "week"];

let config = {};
let render = () => {};
i18n.addEventListener("change", () => render());

function today() {
  return new Date().toLocaleDateString("sv-SE", { timeZone: "Europe/Stockholm" });
}

function filtersFromAddress() {
  const q = new URLSearchParams(location.search);
  const by = q.get("by");
  return {
    unit: q.get("unit") || "",
    from: q.get("from") || today(),
    to: q.get("to") || q.get("from") || today(),
    by: BUCKETS.includes(by) ? by : "hour",
  };
}

async function boot() {
  config = await api.call("GET", "/api/client-config").catch(() => ({}));
  applyBrand(config.brand, i18n);
  let me = null;
  try {
    me = await api.session();
  } catch {
    me = null;
  }
  if (!me) showLogin();
  else showFor(me);
}

// Staff with the supervisor or admin role get the statistics; anyone else is told why not.
function showFor(me) {
  const roles = me.staff?.roles || [];
  if (me.role !== "staff") showMessage("not_staff");
  else if (!roles.includes("supervisor") && !roles.includes("admin")) showMessage("forbidden");
  else showStats(me);
}

// -- frame: test banner, header with the language switch ------------------------------------

function top(me) {
  const lang = h("button", { type: "button", class: "link", lang: t("other_lang_code"), onclick: () => i18n.set(t("other_lang_code")) }, t("other_lang"));
  const out = me
    ? [h("span", { class: "who" }, `${t("user_label")}: ${me.name}`), h("button", { type: "button", class: "link", onclick: logout }, t("logout"))]
    : [];
  return [
    config.test_environment ? h("p", { class: "banner test" }, t("test_env")) : null,
    h(
      "header",
      { class: "topbar" },
      h("p", { class: "brand" }, h("img", { class: "brand-logo", src: config.brand?.logo || "/shared/icon.svg", alt: "" }), t("app_title")),
      h("span", { class: "spacer" }),
      ...out,
      lang,
    ),
  ];
}

async function logout() {
  await api.logout().catch(() => {});
  showLogin();
}

function showMessage(key) {
  render = () => {
    document.title = t("app_title");
    clear(app, ...top(api.me), h("main", { id: "main" }, h("h1", {}, t("heading")), h("p", { class: "banner warn" }, t(key))));
  };
  render();
}

// -- login -------------------------------------------------------------------------------------

function showLogin() {
  let failure = "";
  render = () => {
    document.title = t("app_title");
    const user = h("input", { id: "login-user", name: "username", autocomplete: "username", required: true });
    const pass = h("input", { id: "login-pass", name: "password", type: "password", autocomplete: "current-password", required: true });
    const submit = async (event) => {
      event.preventDefault();
      try {
        showFor(await api.loginStaff(user.value.trim(), pass.value));
      } catch (err) {
        failure = err instanceof ApiError && err.status === 401 ? t("login_failed") : err.message;
        render();
      }
    };
    clear(
      app,
      ...top(null),
      h(
        "main",
        { id: "main", class: "login" },
        h("h1", {}, t("login_heading")),
        h("p", {}, t("login_intro")),
        failure ? h("p", { class: "banner danger", role: "alert" }, failure) : null,
        h(
          "form",
          { onsubmit: submit },
          h("p", {}, h("label", { for: "login-user" }, t("username")), h("br"), user),
          h("p", {}, h("label", { for: "login-pass" }, t("password")), h("br"), pass),
          h("button", { type: "submit", class: "primary" }, t("login")),
        ),
      ),
    );
    user.focus();
  };
  render();
}

// -- the statistics --------------------------------------------------------------------------

function showStats(me) {
  const filters = filtersFromAddress();
  let report = null;
  let status = "";
  let choices = [];

  async function load() {
    status = t("loading");
    render();
    const q = new URLSearchParams({ from: filters.from, to: filters.to, by: filters.by });
    if (filters.unit) q.set("unit", filters.unit);
    history.replaceState(null, "", `?${q}`);
    try {
      report = await api.call("GET", `/api/stats?${q}`);
      choices = report.choices || choices;
      status = "";
    } catch (err) {
      report = null;
      status = err instanceof ApiError && err.status === 403 ? t("forbidden") : t("error", { message: err.message });
    }
    render();
  }

  render = () => {
    document.title = t("app_title");
    clear(
      app,
      ...top(me),
      h(
        "main",
        { id: "main" },
        h("h1", {}, t("heading")),
        filterForm(filters, choices, load),
        h("p", { class: "status", role: "status", "aria-live": "polite" }, status),
        report ? results(report, filters, choices) : null,
      ),
    );
  };
  load().then(() => focusFirst(app));
}

function filterForm(filters, choices, load) {
  const field = (id, label, control) => h("p", { class: "field" }, h("label", { for: id }, label), control);
  const unit = h(
    "select",
    { id: "f-unit", onchange: (e) => (filters.unit = e.target.value) },
    h("option", { value: "" }, t("all_units")),
    choices.map((c) => h("option", { value: c.unit, selected: c.unit === filters.unit }, c.name)),
  );
  const from = h("input", { id: "f-from", type: "date", value: filters.from, required: true, onchange: (e) => (filters.from = e.target.value) });
  const to = h("input", { id: "f-to", type: "date", value: filters.to, required: true, onchange: (e) => (filters.to = e.target.value) });
  const by = h(
    "select",
    { id: "f-by", onchange: (e) => (filters.by = e.target.value) },
    BUCKETS.map((b) => h("option", { value: b, selected: b === filters.by }, t(`by_${b}`))),
  );
  const submit = (event) => {
    event.preventDefault();
    load();
  };
  return h(
    "form",
    { class: "filters", "aria-label": t("filters"), onsubmit: submit },
    field("f-unit", t("unit"), unit),
    field("f-from", t("from"), from),
    field("f-to", t("to"), to),
    field("f-by", t("by"), by),
    h("p", { class: "field" }, h("button", { type: "submit", class: "primary" }, t("show"))),
  );
}

function results(report, filters, choices) {
  const total = report.total;
  const name = (id) => choices.find((c) => c.unit === id)?.name || id;
  const scope = report.scope.length ? report.scope.map(name).join(", ") : t("all_units");
  return h(
    "div",
    { class: "results" },
    h("p", {}, t("shown", { scope, from: report.from, to: report.to })),
    report.complete ? null : h("p", { class: "banner warn" }, t("incomplete")),
    keyFigures(total),
    report.scope.length !== 1 && Object.keys(report.units).length ? unitTable(report.units, name) : null,
    seriesFigure(report),
    total.arrived || total.contacts ? details(total, report.staff_names || {}, report.reason_labels || {}) : h("p", {}, t("none")),
  );
}

function keyFigures(total) {
  const locale = i18n.lang === "en" ? "en-GB" : "sv-SE";
  const compliance = (g) =>
    g.percent === null ? t("no_data") : t("compliance", { ...g, percent: g.percent.toLocaleString(locale, { maximumFractionDigits: 1 }) });
  const rows = [
    ["arrived", total.arrived],
    ["contacts", total.contacts],
    ["abandoned", `${total.abandoned} (${t("abandoned_before")} ${total.abandoned_before_contact})`],
    ["transferred", total.transferred + total.moved_out],
    ["same_day", compliance(total.same_day)],
    ["assessment", compliance(total.assessment)],
  ];
  return h(
    "section",
    { class: "key-figures", "aria-labelledby": "kf-title" },
    h("h2", { id: "kf-title" }, t("key_figures")),
    h("dl", {}, rows.map(([key, value]) => h("div", { class: "figure", dataset: { figure: key } }, h("dt", {}, t(key)), h("dd", {}, String(value))))),
  );
}

// The units side by side: the same key figures, one row each.
function unitTable(units, name) {
  const pct = (g) => (g.percent === null ? t("no_data") : `${g.percent.toLocaleString(i18n.lang === "en" ? "en-GB" : "sv-SE")} %`);
  return h(
    "section",
    { class: "table-figure" },
    dataTable(
      t("per_unit"),
      [t("unit"), t("arrived"), t("contacts"), t("abandoned"), t("transferred"), t("same_day"), t("assessment")],
      Object.entries(units).map(([id, u]) => [name(id), u.arrived, u.contacts, u.abandoned, u.transferred + u.moved_out, pct(u.same_day), pct(u.assessment)]),
    ),
  );
}

function bucketLabel(bucket, by, oneDay) {
  if (by === "week") return bucket.replace(/^\d{4}-W/, "v. ");
  const [date, hour] = bucket.split("T");
  const [, month, day] = date.split("-");
  const dayLabel = `${Number(day)}/${Number(month)}`;
  if (by === "day") return dayLabel;
  return oneDay ? `${hour}:00` : `${dayLabel} ${hour}`;
}

function seriesFigure(report) {
  const by = report.by;
  const oneDay = report.from === report.to;
  const labels = report.series.map((row) => bucketLabel(row.bucket, by, oneDay));
  const byText = t(`by_${by}_lc`);
  return chartFigure({
    id: "series",
    title: t("series_title", { by: byText }),
    caption: t("series_caption", { by: byText }),
    labels,
    series: [
      { name: t("col_arrived"), values: report.series.map((r) => r.arrived) },
      { name: t("col_contacts"), values: report.series.map((r) => r.contacts) },
      { name: t("col_abandoned"), values: report.series.map((r) => r.abandoned) },
    ],
    headers: [t("period"), t("col_arrived"), t("col_contacts"), t("col_abandoned")],
    tickEvery: labels.length > 24 ? Math.ceil(labels.length / 12) : labels.length > 12 ? 3 : 1,
  });
}

// A code's words (an outcome, an entry, a care level), or the code itself.
function words(prefix, code) {
  const key = `${prefix}_${code}`;
  return STRINGS[key] ? t(key) : code;
}

function details(total, names, reasons) {
  const outcomes = Object.entries(total.contacts_by.outcome || {});
  const minutes = (ms) => (ms === null || ms === undefined ? t("no_data") : duration(ms));
  const counts = (title, head, prefix, counter) =>
    h("section", { class: "table-figure" }, dataTable(title, [head, t("count")], Object.entries(counter || {}).map(([k, n]) => [words(prefix, k), n])));
  return h(
    "div",
    { class: "details" },
    outcomes.length
      ? chartFigure({
          id: "outcomes",
          title: t("outcome_title"),
          caption: t("outcome_title"),
          labels: outcomes.map(([code]) => words("outcome", code)),
          series: [{ name: t("count"), values: outcomes.map(([, n]) => n) }],
          headers: [t("outcome"), t("count")],
        })
      : null,
    h(
      "section",
      { class: "table-figure" },
      dataTable(
        t("waits_title"),
        [t("urgency"), t("cases"), t("median"), t("p90")],
        Object.entries(total.first_contact).map(([u, w]) => [words("urgency", u), w.count, minutes(w.p50_ms), minutes(w.p90_ms)]),
      ),
    ),
    counts(t("by_entry"), t("entry"), "entry", total.arrived_by.entry),
    h(
      "section",
      { class: "table-figure" },
      dataTable(
        t("by_reason"),
        [t("reason"), t("count")],
        Object.entries(total.arrived_by.reason || {}).map(([code, n]) => [i18n.pick(reasons[code]) || code, n]),
      ),
    ),
    counts(t("by_care"), t("care"), "care", total.arrived_by.care),
    h(
      "section",
      { class: "table-figure wide" },
      dataTable(
        t("staff_title"),
        [t("staff"), t("chats"), t("closed"), t("transferred"), t("chat_time"), t("chat_median")],
        Object.entries(total.staff).map(([who, s]) => [names[who] || who, s.chats, s.closed, s.transferred, minutes(s.chat_ms_total), minutes(s.chat_ms_p50)]),
      ),
    ),
    h(
      "section",
      { class: "table-figure" },
      dataTable(
        t("busiest_title"),
        [t("hour"), t("col_arrived")],
        total.busiest_hours.map((b) => [`${String(b.hour).padStart(2, "0")}:00–${String((b.hour + 1) % 24).padStart(2, "0")}:00`, b.arrived]),
      ),
    ),
  );
}

boot();
