// The transcript as a text file the citizen keeps: read from the API a page at a
// time, written one line per entry ("[date time] who: text", CRLF line ends),
// and handed to the browser as a download.

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

// The file's text: a heading, then the entries the citizen saw (never staff-only notes).
// me: the citizen's uid; now: the time it is saved, in ms.
export function transcriptText(messages, { t, lang, caseId, me, now }) {
  const stamp = (ms) => new Date(ms).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", { timeZone: "Europe/Stockholm" });
  const lines = [t("transcript.title"), t("transcript.case", { case: caseId }), t("transcript.saved", { date: stamp(now) }), ""];
  for (const m of messages) {
    if (m.staff_only) continue;
    const item = { frame: m, own: m.from === me };
    const system = m.k === "system";
    const who = system ? t("system.name") : `${m.name || ""} (${roleText(t, item)})`;
    let text = system ? (lang === "en" && m.text_en) || m.text || "" : m.text || "";
    if (m.k === "photo") text = [t("transcript.photo"), text].filter(Boolean).join(" ");
    lines.push(`[${m.ts ? stamp(m.ts) : ""}] ${who}: ${text}`);
  }
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
