// The triage summary beside the chat: who the patient is, the care level and
// urgency the triage decided, its findings in clinical words and the answers.

import { h, clear } from "../shared/dom.js";

// Fill root with the summary of one case file (null while it loads); n: the chat's serial, for ids.
export function renderSummary(root, { n, file, reason, t, i18n }) {
  const heading = h("h3", { id: `sum-${n}` }, t("summary"));
  if (!file) {
    clear(root, heading, h("p", {}, t("loading")));
    return;
  }
  const triage = file.triage || {};
  const pick = (text) => (typeof text === "string" ? text : i18n.pick(text));
  const dl = h(
    "dl",
    { class: "facts" },
    facts(t, pick, file, reason).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "—")]),
  );
  clear(root, heading, dl, findingsView(t, pick, triage.findings || {}), answersView(t, pick, triage.answers || []));
}

function facts(t, pick, file, reason) {
  const triage = file.triage || {};
  return [
    [t("patient"), file.patient?.name],
    [t("pnr"), formatPnr(file.patient?.pnr) + (triage.age !== undefined ? ` (${t("age", { n: triage.age })})` : "")],
    file.guardian ? [t("guardian"), formatPnr(file.guardian)] : null,
    [t("reason"), reason],
    triage.care_level ? [t("care_level"), t(`care_${triage.care_level}`)] : null,
    triage.urgency ? [t("urgency_label"), `${t("urgency", { n: triage.urgency })} · ${t(`urgency_${triage.urgency}`)}`] : null,
    // the profession the case waits for or is with now (a transfer changes it), else the triage's
    file.skill || triage.profession ? [t("profession"), t(`skill_${file.skill || triage.profession}`)] : null,
    triage.visit ? [t("visit"), t(`visit_${triage.visit}`)] : null,
    triage.place ? [t("place"), t(`place_${triage.place}`)] : null,
    triage.care_level ? [t("decided_by"), triage.decided_by ? pick(triage.decided_by.staff) : t("decided_by_base")] : null,
    [t("patient_lang"), t(file.lang === "en" ? "lang_en" : "lang_sv")],
  ].filter(Boolean);
}

// "199108312399" -> "19910831-2399"
function formatPnr(pnr) {
  if (!pnr) return "—";
  const s = String(pnr);
  return s.length === 12 ? `${s.slice(0, 8)}-${s.slice(8)}` : s;
}

// The triage's findings in clinical words, grouped: present, measured, unknown,
// the patient's own words, and (folded) what was answered no.
function findingsView(t, pick, findings) {
  const list = (items) => (items && items.length ? h("ul", {}, items.map((x) => h("li", {}, pick(x)))) : h("p", {}, t("findings_none")));
  const absent = findings.absent || [];
  return h(
    "div",
    { class: "findings" },
    h("h4", {}, t("findings_present")),
    list(findings.present),
    findings.measured && findings.measured.length ? [h("h4", {}, t("findings_measured")), list(findings.measured)] : null,
    findings.unknown && findings.unknown.length ? [h("h4", {}, t("findings_unknown")), list(findings.unknown)] : null,
    findings.free_text && findings.free_text.length
      ? [
          h("h4", {}, t("findings_free_text")),
          h("dl", { class: "answers" }, findings.free_text.map((f) => [h("dt", {}, pick(f.question)), h("dd", {}, f.answer)])),
        ]
      : null,
    absent.length ? h("details", {}, h("summary", {}, t("findings_absent", { n: absent.length })), list(absent)) : null,
  );
}

// A photo question's own answer is an internal value ("skip" or a photo reference): say what it means.
function answerText(t, pick, qa) {
  if (qa.photo === "skipped") return t("photo_skipped");
  if (qa.photo === "attached") return t("photo_attached");
  return pick(qa.answer);
}

function answersView(t, pick, answers) {
  if (!answers.length) return null;
  return h(
    "details",
    { class: "qa" },
    h("summary", {}, t("answers")),
    h("dl", { class: "answers" }, answers.map((qa) => [h("dt", {}, pick(qa.question)), h("dd", {}, answerText(t, pick, qa))])),
  );
}
