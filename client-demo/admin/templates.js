// Phrase templates of the region and its units: the list and the form (title, texts, tags, unit).

import { h, clear } from "../shared/dom.js";
import { field, formShell, select, showError } from "./forms.js";
import { toolbar } from "./staff.js";

export function templatesView(main, ctx) {
  const { t } = ctx;
  const reload = async () => {
    await ctx.load();
    list();
  };
  const unitOf = (tpl) => (tpl.staff ? t("personal_of", { staff: tpl.staff }) : tpl.unit ? ctx.unitName(tpl.unit) : t("every_unit"));
  const list = () => {
    const rows = ctx.config.templates.map((tpl) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, tpl.title),
        h("td", {}, unitOf(tpl)),
        h("td", {}, tpl.tags.map((tag) => h("span", { class: "tag" }, tag))),
        h("td", {}, tpl.text.sv),
        h(
          "td",
          {},
          h("button", { type: "button", "aria-label": t("edit_named", { name: tpl.title }), onclick: () => edit(tpl) }, t("edit")),
          " ",
          h("button", { type: "button", class: "danger", "aria-label": t("remove_named", { name: tpl.title }), onclick: () => remove(tpl) }, t("remove")),
        ),
      ),
    );
    const head = [t("title"), t("template_unit"), t("tags"), t("text_sv"), ""].map((c) => h("th", { scope: "col" }, c));
    clear(
      main,
      h("h1", {}, t("templates_heading")),
      toolbar(ctx, t("template_add"), () => edit(null), reload),
      h("table", { class: "list" }, h("caption", { class: "visually-hidden" }, t("templates_heading")), h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)),
    );
  };
  const remove = async (tpl) => {
    try {
      await ctx.save("DELETE", `/api/admin/templates/${encodeURIComponent(tpl.id)}`);
    } finally {
      list();
    }
  };
  const edit = (template) => {
    const tpl = template || { id: "", title: "", text: { sv: "", en: "" }, tags: [], unit: null };
    const id = h("input", { value: tpl.id, autocomplete: "off" });
    const title = h("input", { value: tpl.title });
    const sv = h("textarea", { rows: "3" }, tpl.text.sv);
    const en = h("textarea", { rows: "3" }, tpl.text.en);
    const tags = h("input", { value: tpl.tags.join(", ") });
    const unit = select([{ value: "", label: t("every_unit") }, ...ctx.config.units.map((u) => ({ value: u.id, label: u.name }))], tpl.unit || "");
    const labels = { id: t("template_id"), title: t("title"), "text.sv": t("text_sv"), "text.en": t("text_en"), text: t("text_sv"), tags: t("tags"), unit: t("template_unit") };
    const submit = async (form) => {
      const body = {
        title: title.value.trim(),
        text: { sv: sv.value, en: en.value },
        tags: tags.value.split(",").map((s) => s.trim()).filter(Boolean),
        unit: unit.value || null,
      };
      try {
        if (template) await ctx.save("PUT", `/api/admin/templates/${encodeURIComponent(tpl.id)}`, body);
        else await ctx.save("POST", "/api/admin/templates", { ...body, id: id.value.trim() });
        list();
      } catch (err) {
        showError(form, err, t, (f) => labels[f] || f);
      }
    };
    const form = formShell(
      template ? t("edit_named", { name: tpl.title }) : t("template_new"),
      submit,
      list,
      t,
      template ? null : field("id", t("template_id"), id),
      field("title", t("title"), title),
      field("text.sv", t("text_sv"), sv, t("text_hint")),
      field("text.en", t("text_en"), en),
      field("tags", t("tags"), tags),
      field("unit", t("template_unit"), unit),
    );
    clear(main, form);
    form.querySelector("h2").focus();
  };
  list();
}
