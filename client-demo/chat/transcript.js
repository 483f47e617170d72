// The transcript as a text file the citizen keeps: read from the API a page at a
// time, written as a heading (when, where, what), one line per entry ("[date time]
// who: text"), the case id as a support reference last (CRLF line ends), and
// handed to the browser as a download.

import { h } from "../shared/dom.js";
import { roleText } from "./log.js";

// The transcript comes a page at a time: ask on from `next` (in the same epoch) until it is null.
export async function readTranscript(api, caseId) {
  const path = `/api/cases/${encodeURIComponent(caseId)}/transcript`;
  const messages = [];
  let page = await api.call("GET", path);
  messages.push(...page.messages);
  while (page.next) {
    const query = new URLSearchParams({ after: page.next, epoch: page.epoch });
    page = await api.call("GET", `${path}?${query}`);
    messages.push(...page.messages);
  }
  return messages;
}

// The heading: what the conversation was, in words a person knows it by: when it began, where,
// about what (and for whom, when a guardian writes for a child), not the internal case id.
function transcriptHeader(t, stamp, about, now) {
  return [
    t("transcript.title"),
    about.started ? t("transcript.started", { date: stamp(about.started) }) : null,
    about.unit ? t("transcript.unit", { unit: about.unit }) : null,
    about.reason ? t("transcript.reason", { reason: about.reason }) : null,
    about.patient ? t("transcript.patient", { name: about.patient }) : null,
    t("transcript.saved", { date: stamp(now) }),
  ].filter(Boolean);
}

// The file's text: a heading, then the entries the citizen saw (never staff-only notes), then
// the case id. me: the citizen's uid; now: the time it is saved, in ms; about: what the heading
// names ({started (ms, 0 unknown), unit, reason, patient (only when not the citizen)}, "" unknown).
export function transcriptText(messages, { t, lang, caseId, me, now, about }) {
  const stamp = (ms) => new Date(ms).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", { timeZone: "Europe/Stockholm" });
  const lines = [...transcriptHeader(t, stamp, about, now), ""];
  for (const m of messages) {
    if (m.staff_only) continue;
    const item = { frame: m, own: m.from === me };
    const system = m.k === "system";
    const who = system ? t("system.name") : `${m.name || ""} (${roleText(t, item)})`;
    let text = system ? (lang === "en" && m.text_en) || m.text || "" : m.text || "";
    if (m.k === "photo") text = [t("transcript.photo"), text].filter(Boolean).join(" ");
    lines.push(`[${m.ts ? stamp(m.ts) : ""}] ${who}: ${text}`);
  }
  // The case id only at the end, named as what it is for: quoting it to support.
  lines.push("", t("transcript.reference", { case: caseId }));
  return lines.join("\r\n") + "\r\n";
}

// Save text as a file: a hidden download link, clicked once.
export function saveTextFile(text, filename) {
  const blob = new Blob([text], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, class: "visually-hidden" }, "download");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
