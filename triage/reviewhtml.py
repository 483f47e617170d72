"""The words and HTML pieces of the clinician review pack (``direkt.triage.review``).

Swedish first with English beside it; every text is escaped here; the CSS is
embedded in each page, prints on A4 and needs nothing from the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from direkt.queue.model import Skill
from direkt.triage.model import KnowledgeBase, Level, Place, QuestionKind, Text, VisitForm

LEVEL_COLOURS = {
    Level.SELF_CARE: "#2e7d32",
    Level.DAYS: "#558b2f",
    Level.TODAY: "#8d6e00",
    Level.SOON: "#ef6c00",
    Level.URGENT: "#d84315",
    Level.IMMEDIATE: "#c62828",
    Level.CALL_1177: "#ad1457",
    Level.EMERGENCY_DEPARTMENT: "#b71c1c",
    Level.CALL_112: "#7f0000",
}
LEVELS = {
    Level.SELF_CARE: Text("Egenvård", "Self-care"),
    Level.DAYS: Text("Inom några dagar", "Within a few days"),
    Level.TODAY: Text("I dag", "Today"),
    Level.SOON: Text("Inom några timmar", "Within a few hours"),
    Level.URGENT: Text("Inom en timme", "Within an hour"),
    Level.IMMEDIATE: Text("Direkt (inom 15 minuter)", "At once (within 15 minutes)"),
    Level.CALL_1177: Text("Ring 1177 nu", "Call 1177 now"),
    Level.EMERGENCY_DEPARTMENT: Text("Akutmottagning nu", "Emergency department now"),
    Level.CALL_112: Text("Ring 112", "Call 112"),
}
GOLD = {
    "emergency": Text("Akut", "Emergency"),
    "same_day": Text("Samma dag", "Same day"),
    "within_days": Text("Inom några dagar", "Within days"),
    "self_care": Text("Egenvård", "Self-care"),
}
MARKS = {
    "exact": Text("Exakt", "Exact"),
    "over": Text("Över", "Over"),
    "under": Text("Under", "Under"),
    "error": Text("Kan inte köras", "Cannot run"),
}
KINDS = {
    QuestionKind.YESNO: Text("Ja/nej", "Yes/no"),
    QuestionKind.CHECKLIST: Text("Checklista (kryssa allt som stämmer)", "Checklist (tick all that apply)"),
    QuestionKind.CHOICE: Text("Ett val", "One choice"),
    QuestionKind.NUMBER: Text("Tal", "Number"),
    QuestionKind.TEXT: Text("Fritext (bara till personalen)", "Free text (for staff only)"),
    QuestionKind.PHOTO: Text("Foto (bara till personalen)", "Photo (for staff only)"),
}
VISITS = {
    VisitForm.CHAT: Text("Chatt", "Chat"),
    VisitForm.VIDEO: Text("Video", "Video"),
    VisitForm.PHYSICAL: Text("Besök på plats", "Visit in person"),
}
ENTRIES = {
    "seek_care": Text("Söka vård", "Seek care"),
    "vaccination": Text("Vaccination", "Vaccination"),
    "youth_clinic": Text("Ungdomsmottagningen", "Youth clinic"),
    "child_health": Text("Barnhälsovården", "Child health care"),
    "admin": Text("Administrativt ärende", "Administrative matter"),
}
SEX_WORDS = {"female": Text("kvinna", "female"), "male": Text("man", "male"), "other": Text("annat", "other")}
HELD_OUT = Text(
    "De låsta testmängderna (held-out) visas medvetet inte: teamet justerar aldrig kunskapsbasen mot dem.",
    "The locked held-out sets are deliberately not shown: the team never tunes the knowledge base to them.",
)
SCREEN = Text("Röd flagg-frågan (alla)", "Screen (all)")
UNREACHED = Text("ingen patient i kontrollen når regeln", "no patient in the check reaches it")


CSS = """
@page { size: A4; margin: 14mm; }
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 1.5em auto;
       max-width: 72em; padding: 0 1em; }
h1 { font-size: 1.7em; margin: 0.2em 0; } h2 { border-bottom: 2px solid #37474f; margin-top: 1.6em; }
h3 { margin: 1em 0 0.3em; } h4 { margin: 0 0 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { border: 1px solid #b0bec5; padding: 0.25em 0.45em; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #eceff1; }
table.facts th { width: 16em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1.2em; }
.pair > [lang=en], .en { color: #455a64; }
.child { font-style: italic; }
.child > div::before { font-style: normal; color: #6a1b9a; font-size: 0.85em; }
.child > [lang=sv]::before { content: "Vårdnadshavare: "; } .child > [lang=en]::before { content: "Guardian: "; }
.card { border: 1px solid #cfd8dc; border-left: 5px solid #607d8b; border-radius: 4px; padding: 0.5em 0.8em;
        margin: 0.5em 0; break-inside: avoid; }
.field { display: grid; grid-template-columns: 11em 1fr; gap: 0.6em; margin: 0.15em 0; }
.field > .what { font-weight: 600; color: #37474f; font-size: 0.9em; }
.id, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
.meta, .note { color: #546e7a; font-size: 0.9em; }
.badge { background: #eceff1; border: 1px solid #90a4ae; border-radius: 3px; padding: 0 0.3em; font-size: 0.8em; }
.level-tag { display: inline-block; border: 1px solid; border-radius: 3px; padding: 0 0.3em; margin: 0.1em 0;
             font-weight: 600; }
h3.level { border-left: 8px solid; padding-left: 0.4em; }
.warn { color: #b71c1c; font-weight: 600; } .ok { color: #2e7d32; font-weight: 600; }
.sign { margin: 0.8em 0; } .sign .what { font-weight: 600; }
.blank { border-bottom: 1px solid #263238; height: 2em; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; } .noprint { display: none; }
  h2 { break-after: avoid; } tr { break-inside: avoid; } #sign-off { break-inside: avoid; }
}
"""


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def section(anchor: str, title: Text, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{inline(title)}</h2>\n{body}\n</section>'


def both(text: Text) -> str:
    """Swedish beside English, and the guardian forms below when the text has them."""
    pair = both_str(text.sv, text.en)
    if text.sv_child is None and text.en_child is None:
        return pair
    sv, en = escape(text.sv_child or ""), escape(text.en_child or "")
    return f'{pair}<div class="pair child"><div lang="sv">{sv}</div><div lang="en">{en}</div></div>'


def both_str(sv: str, en: str) -> str:
    return f'<div class="pair"><div lang="sv">{escape(sv)}</div><div lang="en">{escape(en)}</div></div>'


def inline(text: Text) -> str:
    return f'<span lang="sv">{escape(text.sv)}</span> / <span lang="en" class="en">{escape(text.en)}</span>'


def para(text: Text) -> str:
    return f"<p>{inline(text)}</p>"


def labelled(what: Text, value: str) -> str:
    return f'<div class="field"><div class="what">{inline(what)}</div><div>{value}</div></div>'


def row_head(*titles: Text) -> str:
    return "<tr>" + "".join(f"<th>{inline(t)}</th>" for t in titles) + "</tr>"


def bullets(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def breakable(ident: str) -> str:
    """An id that may wrap after its dots and underscores in a narrow column."""
    return escape(ident).replace(".", ".<wbr>").replace("_", "_<wbr>")


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def level_tag(level: Level) -> str:
    colour = LEVEL_COLOURS[level]
    style = f"color:{colour};border-color:{colour}"
    return f'<span class="level-tag" style="{style}">{inline(LEVELS[level])} <code>{level.label}</code></span>'


def level_name(name: object) -> str:
    try:
        return level_tag(Level.parse(str(name)))
    except KeyError:
        return escape(str(name))


def gold(name: str | None) -> str:
    return inline(GOLD[name]) if name in GOLD else escape(str(name))


def yes(value: bool) -> Text:
    return Text("ja", "yes") if value else Text("nej", "no")


def profession(kb: KnowledgeBase, skill: Skill) -> Text:
    return kb.phrases.profession.get(skill, Text(skill.value, skill.value))


def place_text(kb: KnowledgeBase, place: Place | None) -> str:
    if place is None:
        return both(Text("efter ingång", "by entry"))
    return both(kb.phrases.place.get(place, Text(place.value, place.value)))


def patient_text(case: Mapping[str, Any]) -> str:
    age, months, sex = case.get("age", "?"), case.get("months", 0), str(case.get("sex", "?"))
    words = SEX_WORDS.get(sex, Text(sex, sex))
    extra = Text(f" {months} mån", f" {months} mo") if months else Text("", "")
    return inline(Text(f"{age} år{extra.sv}, {words.sv}", f"{age} y{extra.en}, {words.en}"))


def stated(kb: KnowledgeBase, findings: object) -> str:
    """A case's findings in clinical words (Swedish, then English)."""
    if not isinstance(findings, Mapping):
        return ""
    texts = [fact(kb, str(k), v) for k, v in findings.items()]
    return both_str("; ".join(t.sv for t in texts), "; ".join(t.en for t in texts))


def fact(kb: KnowledgeBase, finding_id: str, value: object) -> Text:
    finding = kb.findings.get(finding_id)
    label = finding.staff if finding else Text(finding_id, finding_id)
    if value is True:
        return label
    if value is False:
        return Text(f"inte {label.sv}", f"no {label.en}")
    words = {"unknown": Text("vet ej", "unknown"), "not_measured": Text("ej mätt", "not measured")}
    if isinstance(value, str) and value in words:
        return Text(f"{label.sv}: {words[value].sv}", f"{label.en}: {words[value].en}")
    if isinstance(value, int | float):
        unit = finding.unit if finding and finding.unit else Text("", "")
        return Text(f"{label.sv} {value:g} {unit.sv}".strip(), f"{label.en} {value:g} {unit.en}".strip())
    chosen = finding.value(str(value)) if finding else None
    staff = chosen.staff if chosen else Text(str(value), str(value))
    return Text(f"{label.sv}: {staff.sv}", f"{label.en}: {staff.en}")
