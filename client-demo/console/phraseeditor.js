// The phrase editor: a staff member's own phrases, and her units' phrases where the unit lets
// its staff edit them (the unit's staff_edit_phrases, set by an administrator). The server
// says which phrases she may change (editable) and to which units she may add (unit_phrases).

import { h, clear } from "../shared/dom.js";

export async function phraseEditor(ctx, opener) {
  const t = (key, values) => ctx.i18n.t(key, values);
  const dialogs = ctx.dialogs;
  let data = { templates: [], unit_phrases: [] };
  const status = h("p", { class: "hint", role: "status" });

  const load = async () => {
    data = await ctx.api.call("GET", "/api/staff/templates");
  };

  const rights = () => {
    const yes = ctx.staff.units.filter((u) => data.unit_phrases.includes(u)).map(ctx.unitName);
    const no = ctx.staff.units.filter((u) => !data.unit_phrases.includes(u)).map(ctx.unitName);
    return h(
      "div",
      { class: "phrase-rights" },
      yes.length ? h("p", {}, t("unit_phrases_yes", { units: yes.join(", ") })) : null,
      no.length ? h("p", { class: "hint" }, t("unit_phrases_no", { units: no.join(", ") })) : null,
    );
  };

  const head = (key) =>
    h("div", { class: "dlg-head" }, h("h2", { id: "dlg-h", tabindex: "-1" }, t(key)), h("button", { type: "button", onclick: () => dialogs.dialog.close() }, t("close_viewer")));

  const scopeOf = (tpl) => (tpl.personal ? t("phrase_personal") : t("phrase_unit", { unit: ctx.unitName(tpl.unit) }));

  const list = (message = "") => {
    const mine = data.templates.filter((tpl) => tpl.editable);
    const rows = mine.map((tpl) =>
      h(
        "li",
        { class: "phrase-row" },
        h("span", {}, h("strong", {}, tpl.title), h("span", { class: "hint" }, ` · ${scopeOf(tpl)}`)),
        h("span", { class: "phrase-actions" },
          h("button", { type: "button", "aria-label": t("phrase_edit_named", { title: tpl.title }), onclick: () => form(tpl) }, t("phrase_edit")),
          h("button", { type: "button", class: "danger", "aria-label": t("phrase_delete_named", { title: tpl.title }), onclick: () => remove(tpl) }, t("phrase_delete")),
        ),
      ),
    );
    status.textContent = message;
    dialogs.show(
      "phrase-editor",
      opener,
      head("my_phrases"),
      rights(),
      h("p", {}, h("button", { type: "button", class: "primary", onclick: () => form(null) }, t("phrase_add"))),
      mine.length ? h("ul", { class: "phrase-list" }, rows) : h("p", { class: "hint" }, t("phrases_none_mine")),
      status,
    );
    dialogs.dialog.querySelector("h2").focus();
  };

  const remove = async (tpl) => {
    try {
      await ctx.api.call("DELETE", `/api/staff/templates/${encodeURIComponent(tpl.id)}`);
      await load();
      list(t("phrase_deleted"));
    } catch (err) {
      await load();
      list(t("phrase_failed", { message: err.message }));
    }
  };

  const form = (tpl) => {
    const title = h("input", { id: "phr-title", value: tpl ? tpl.title : "", maxlength: "80" });
    const sv = h("textarea", { id: "phr-sv", rows: "3" }, tpl ? tpl.text.sv : "");
    const en = h("textarea", { id: "phr-en", rows: "3" }, tpl ? tpl.text.en : "");
    const tags = h("input", { id: "phr-tags", value: tpl ? tpl.tags.join(", ") : "" });
    const units = [...new Set([...data.unit_phrases, ...(tpl && tpl.unit ? [tpl.unit] : [])])];
    const scope = h(
      "select",
      { id: "phr-scope" },
      h("option", { value: "", selected: !tpl || tpl.personal }, t("phrase_personal")),
      units.map((u) => h("option", { value: u, selected: tpl && tpl.unit === u }, t("phrase_unit", { unit: ctx.unitName(u) }))),
    );
    const error = h("p", { class: "dlg-error", role: "alert" });
    const submit = async (event) => {
      event.preventDefault();
      const body = {
        title: title.value.trim(),
        text_sv: sv.value,
        text_en: en.value,
        tags: tags.value.split(",").map((x) => x.trim()).filter(Boolean),
        unit: scope.value || null,
      };
      try {
        if (tpl) await ctx.api.call("PUT", `/api/staff/templates/${encodeURIComponent(tpl.id)}`, body);
        else await ctx.api.call("POST", "/api/staff/templates", body);
        await load();
        list(t("phrase_saved"));
      } catch (err) {
        error.textContent = t("phrase_failed", { message: err.message });
        error.focus();
      }
    };
    const field = (id, key, input) => h("div", { class: "field" }, h("label", { for: id }, t(key)), input);
    dialogs.show(
      "phrase-editor",
      opener,
      head(tpl ? "phrase_edit" : "phrase_add"),
      h(
        "form",
        { onsubmit: submit },
        error,
        field("phr-title", "phrase_title", title),
        field("phr-sv", "phrase_text_sv", sv),
        field("phr-en", "phrase_text_en", en),
        field("phr-tags", "phrase_tags", tags),
        field("phr-scope", "phrase_scope", scope),
        h("p", { class: "hint" }, "{first_name} · {nurse_name} · {unit}"),
        h("div", { class: "phrase-actions" }, h("button", { type: "submit", class: "primary" }, t("phrase_save")), h("button", { type: "button", onclick: () => list() }, t("cancel"))),
      ),
    );
    error.tabIndex = -1;
    title.focus();
  };

  try {
    await load();
  } catch (err) {
    ctx.alerts.toast(t("phrase_failed", { message: err.message }), "danger");
    return;
  }
  list();
}
