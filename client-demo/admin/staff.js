// Staff: the list, and the form that adds or edits one (units, professions, roles, max chats,
// active, and the HSA-id and UPN the staff identity provider may name them by). Deactivating logs the person out everywhere at once.

import { h, clear } from "../shared/dom.js";
import { checkbox, choices, field, formShell, select, showError } from "./forms.js";

const PROFESSIONS = ["nurse", "doctor", "psychologist", "physiotherapist", "midwife", "administrator"];
const ROLES = ["supervisor", "admin"];

export function toolbar(ctx, addLabel, onAdd, onReload) {
  const { t } = ctx;
  return h(
    "div",
    { class: "toolbar" },
    h("button", { type: "button", class: "primary", onclick: onAdd }, addLabel),
    h("button", { type: "button", onclick: onReload }, t("reload")),
    h("span", { class: "version" }, t("version", { n: ctx.config.version })),
  );
}

export function staffView(main, ctx) {
  const { t } = ctx;
  const reload = async () => {
    await ctx.load();
    list();
  };
  const list = () => {
    const rows = ctx.config.staff.map((s) =>
      h(
        "tr",
        { class: s.active ? null : "inactive" },
        h("th", { scope: "row" }, s.name),
        h("td", {}, s.id),
        h("td", {}, t(`prof_${s.profession}`)),
        h("td", {}, s.units.map((u) => h("span", { class: "tag" }, ctx.unitName(u)))),
        h("td", {}, s.roles.map((r) => t(`role_${r}`)).join(", ")),
        h("td", {}, String(s.max_chats)),
        h("td", {}, t(s.active ? "status_active" : "status_inactive")),
        h("td", {}, h("button", { type: "button", "aria-label": t("edit_named", { name: s.name }), onclick: () => edit(s) }, t("edit"))),
      ),
    );
    const head = [t("name"), "Id", t("profession"), t("units"), t("roles"), t("max_chats"), t("status"), ""].map((c) =>
      h("th", { scope: "col" }, c),
    );
    clear(
      main,
      h("h1", {}, t("staff_heading")),
      toolbar(ctx, t("staff_add"), () => edit(null), reload),
      h("table", { class: "list" }, h("caption", { class: "visually-hidden" }, t("staff_heading")), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)),
    );
  };
  const edit = (member) => {
    const s = member || { id: "", name: "", profession: "nurse", units: [], roles: [], max_chats: 4, active: true, skills: null };
    const id = h("input", { value: s.id, autocomplete: "off" });
    const name = h("input", { value: s.name, autocomplete: "off" });
    const profession = select(PROFESSIONS.map((p) => ({ value: p, label: t(`prof_${p}`) })), s.profession);
    const units = choices("units", t("units"), ctx.config.units.map((u) => ({ value: u.id, label: u.name })), s.units);
    const roles = choices("roles", t("roles"), ROLES.map((r) => ({ value: r, label: t(`role_${r}`) })), s.roles);
    const maxChats = h("input", { type: "number", min: "0", max: "12", value: String(s.max_chats) });
    const active = checkbox("active", t("active"), s.active);
    const password = h("input", { type: "password", autocomplete: "new-password" });
    const hsaId = h("input", { value: s.hsa_id || "", autocomplete: "off", spellcheck: "false" });
    const upn = h("input", { value: s.upn || "", autocomplete: "off", spellcheck: "false" });
    const labels = { id: t("staff_id"), name: t("name"), profession: t("profession"), units: t("units"), roles: t("roles"),
      max_chats: t("max_chats"), active: t("active"), password: t("new_password"), skills: t("profession"),
      hsa_id: t("hsa_id"), upn: t("upn") };
    const submit = async (form) => {
      const body = {
        name: name.value.trim(),
        profession: profession.value,
        units: units.values(),
        max_chats: maxChats.value === "" ? -1 : Number(maxChats.value),
        roles: roles.values(),
        active: active.input.checked,
        hsa_id: hsaId.value.trim() || null,
        upn: upn.value.trim() || null,
      };
      if (s.skills) body.skills = s.skills;
      if (password.value) body.password = password.value;
      try {
        if (member) await ctx.save("PUT", `/api/admin/staff/${encodeURIComponent(s.id)}`, body);
        else await ctx.save("POST", "/api/admin/staff", { ...body, id: id.value.trim() });
        list();
      } catch (err) {
        showError(form, err, t, (f) => labels[f] || f);
      }
    };
    const form = formShell(
      member ? t("edit_named", { name: s.name }) : t("staff_new"),
      submit,
      list,
      t,
      member ? null : field("id", t("staff_id"), id, t("staff_id_hint")),
      field("name", t("name"), name),
      field("profession", t("profession"), profession),
      units.el,
      roles.el,
      field("max_chats", t("max_chats"), maxChats),
      active.el,
      field("password", t("new_password"), password, t("new_password_hint")),
      field("hsa_id", t("hsa_id"), hsaId, t("hsa_id_hint")),
      field("upn", t("upn"), upn, t("upn_hint")),
    );
    clear(main, form);
    form.querySelector("h2").focus();
  };
  list();
}
