// Units: the list, and the form for hours per day group, one-off closure days, overflow rules
// and the flags (cases from the list, staff editing the unit's phrases).

import { h, clear } from "../shared/dom.js";
import { checkbox, choices, field, formShell, select, showError } from "./forms.js";
import { toolbar } from "./staff.js";

const WHEN = ["always", "closed", "busy"];

export function unitsView(main, ctx) {
  const { t } = ctx;
  const reload = async () => {
    await ctx.load();
    list();
  };
  const list = () => {
    const rows = ctx.config.units.map((u) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, u.name),
        h("td", {}, u.id),
        h("td", {}, Object.entries(u.hours).map(([days, times]) => h("div", {}, `${days}: ${times}`))),
        h("td", {}, u.closed_days.join(", ") || "–"),
        h("td", {}, t(u.pick_from_list ? "yes" : "no")),
        h("td", {}, t(u.staff_edit_phrases ? "yes" : "no")),
        h("td", {}, h("button", { type: "button", "aria-label": t("edit_named", { name: u.name }), onclick: () => edit(u) }, t("edit"))),
      ),
    );
    const head = [t("name"), "Id", t("hours"), t("closed_days"), t("pick_from_list"), t("staff_edit_phrases"), ""].map((c) =>
      h("th", { scope: "col" }, c),
    );
    clear(
      main,
      h("h1", {}, t("units_heading")),
      toolbar(ctx, t("unit_add"), () => edit(null), reload),
      h("table", { class: "list" }, h("caption", { class: "visually-hidden" }, t("units_heading")), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)),
    );
  };
  const edit = (existing) => {
    const regions = Object.entries(ctx.config.regions);
    const u = existing || { id: "", name: "", region: regions[0][0], kind: "primary_care", skills: ["nurse"], hours: { "mon-fri": "08:00-16:00" },
      fallback: [], pick_from_list: false, closed_days: [], staff_edit_phrases: true, overflow: [] };
    const id = h("input", { value: u.id, autocomplete: "off" });
    const name = h("input", { value: u.name });
    const region = select(regions.map(([value, label]) => ({ value, label })), u.region);
    const kind = select(ctx.config.kinds.map((k) => ({ value: k, label: t(`kind_${k}`) })), u.kind);
    const skills = choices("skills", t("skills"), ctx.config.skills.map((s) => ({ value: s, label: t(`prof_${s}`) })), u.skills);
    const hours = hoursEditor(t, u.hours);
    const closed = closedDaysEditor(t, u.closed_days);
    const others = ctx.config.units.filter((o) => o.id !== u.id);
    const overflow = overflowEditor(t, others, u.overflow);
    const pick = checkbox("pick_from_list", t("pick_from_list"), u.pick_from_list);
    const phrases = checkbox("staff_edit_phrases", t("staff_edit_phrases"), u.staff_edit_phrases);
    const labels = { id: t("unit_id"), name: t("name"), region: t("region"), kind: t("kind"), skills: t("skills"), hours: t("hours"),
      closed_days: t("closed_days"), overflow: t("overflow"), pick_from_list: t("pick_from_list"), staff_edit_phrases: t("staff_edit_phrases") };
    const submit = async (form) => {
      const body = {
        name: name.value.trim(),
        region: region.value,
        kind: kind.value,
        skills: skills.values(),
        hours: hours.value(),
        fallback: u.fallback,
        pick_from_list: pick.input.checked,
        closed_days: closed.value(),
        staff_edit_phrases: phrases.input.checked,
        overflow: overflow.value(),
      };
      try {
        if (existing) await ctx.save("PUT", `/api/admin/units/${encodeURIComponent(u.id)}`, body);
        else await ctx.save("POST", "/api/admin/units", { ...body, id: id.value.trim() });
        list();
      } catch (err) {
        showError(form, err, t, (f) => labels[f.split(/[.[]/)[0]] || f);
      }
    };
    const form = formShell(
      existing ? t("edit_named", { name: u.name }) : t("unit_new"),
      submit,
      list,
      t,
      existing ? null : field("id", t("unit_id"), id),
      field("name", t("name"), name),
      field("region", t("region"), region),
      field("kind", t("kind"), kind),
      skills.el,
      hours.el,
      closed.el,
      overflow.el,
      pick.el,
      phrases.el,
    );
    clear(main, form);
    form.querySelector("h2").focus();
  };
  list();
}

// Rows of (day group, times); each row's element answers to "hours.<day group>" errors.
function hoursEditor(t, hours) {
  const rowsEl = h("div", {});
  const rows = [];
  const add = (days = "", times = "") => {
    const n = rows.length + 1;
    const daysIn = h("input", { value: days, "aria-label": t("hours_days", { n }), size: "12" });
    const timesIn = h("input", { value: times, "aria-label": t("hours_times", { n }), size: "24" });
    const error = h("p", { class: "field-error" });
    const el = h("div", { class: "row", dataset: { field: `hours.${days}` } }, daysIn, timesIn, error);
    daysIn.addEventListener("input", () => (el.dataset.field = `hours.${daysIn.value.trim()}`));
    rows.push({ daysIn, timesIn });
    rowsEl.append(el);
  };
  for (const [days, times] of Object.entries(hours)) add(days, times);
  const error = h("p", { class: "field-error" });
  const el = h(
    "fieldset",
    { dataset: { field: "hours" } },
    h("legend", {}, t("hours")),
    h("p", { class: "hint" }, t("hours_hint")),
    rowsEl,
    h("button", { type: "button", onclick: () => add() }, t("hours_add")),
    error,
  );
  const value = () =>
    Object.fromEntries(rows.filter((r) => r.daysIn.value.trim()).map((r) => [r.daysIn.value.trim(), r.timesIn.value.trim()]));
  return { el, value };
}

// One-off closure days: the list with a remove button each, and a date to add.
function closedDaysEditor(t, initial) {
  let days = [...initial];
  const listEl = h("ul", { class: "days" });
  const render = () => {
    listEl.replaceChildren(
      ...(days.length
        ? days.map((d) =>
            h("li", {}, d, h("button", { type: "button", class: "link", "aria-label": t("remove_named", { name: d }), onclick: () => {
              days = days.filter((x) => x !== d);
              render();
            } }, "✕")),
          )
        : [h("li", { class: "muted" }, t("closed_none"))]),
    );
  };
  const date = h("input", { type: "date", id: "closed-new" });
  const error = h("p", { class: "field-error" });
  const el = h(
    "fieldset",
    { dataset: { field: "closed_days" } },
    h("legend", {}, t("closed_days")),
    listEl,
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "closed-new" }, t("closed_new")), date),
      h("button", { type: "button", onclick: () => {
        if (date.value && !days.includes(date.value)) days = [...days, date.value].sort();
        date.value = "";
        render();
      } }, t("closed_add")),
    ),
    error,
  );
  render();
  return { el, value: () => days };
}

// Overflow rules from this unit: to which unit, when, and (when busy) after how long a wait.
function overflowEditor(t, others, initial) {
  const rowsEl = h("div", {});
  const rows = [];
  const units = others.map((o) => ({ value: o.id, label: o.name }));
  const add = (rule = { to: units[0]?.value || "", when: "closed" }) => {
    const n = rows.length + 1;
    const to = select(units, rule.to);
    to.setAttribute("aria-label", t("overflow_to", { n }));
    const when = select(WHEN.map((w) => ({ value: w, label: t(`when_${w}`) })), rule.when);
    when.setAttribute("aria-label", t("overflow_when", { n }));
    const wait = h("input", { type: "number", min: "1", value: rule.wait_over_min ? String(rule.wait_over_min) : "", "aria-label": t("overflow_wait", { n }), size: "6" });
    const row = { rule, to, when, wait };
    const el = h("div", { class: "row" }, to, when, wait, h("button", { type: "button", class: "link", "aria-label": t("remove_named", { name: `${n}` }), onclick: () => {
      rows.splice(rows.indexOf(row), 1);
      el.remove();
    } }, "✕"));
    rows.push(row);
    rowsEl.append(el);
  };
  for (const rule of initial) add(rule);
  const error = h("p", { class: "field-error" });
  const el = h("fieldset", { dataset: { field: "overflow" } }, h("legend", {}, t("overflow")), rowsEl,
    units.length ? h("button", { type: "button", onclick: () => add() }, t("overflow_add")) : null, error);
  const value = () =>
    rows.map(({ rule, to, when, wait }) => {
      const out = { to: to.value, when: when.value };
      if (wait.value) out.wait_over_min = Number(wait.value);
      if (rule.window) out.window = rule.window;
      if (rule.skills) out.skills = rule.skills;
      return out;
    });
  return { el, value };
}
