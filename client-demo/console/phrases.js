// Phrases inline in the composer: "/" at the start of a word opens a list of
// phrase templates matching what follows it ("/häls"); arrow keys choose, Enter
// or Tab puts the phrase (placeholders filled by the server) in place of
// "/häls", ready to edit; Escape closes and leaves the text as typed. The
// textarea keeps its role; the list is tied to it by aria-controls and
// aria-activedescendant (a textbox may not carry aria-expanded), and a status
// line says how many phrases match.
//
// Filling placeholders reads the case (an audited access), so the phrases are
// fetched once each time the list opens, and what is typed after the "/" is
// matched here, by the server's rule (title or a tag contains it).

import { h, clear } from "../shared/dom.js";

const SHOWN = 6;
const DEBOUNCE_MS = 150;
const TOKEN = /(^|\s)\/([^\s/]*)$/; // a slash starting a word, up to the caret

let serial = 0;

// The server's rule (direkt.server.care.templates.matches): the title or a tag contains the query.
export function phraseMatches(tpl, query) {
  const q = query.toLocaleLowerCase().trim();
  const has = (text) => text.toLocaleLowerCase().includes(q);
  return !q || has(tpl.title) || (tpl.tags || []).some(has);
}

export class InlinePhrases {
  constructor(chat) {
    this.chat = chat;
    this.items = [];
    this.active = 0;
    this.token = null; // {start, end, query}
    this.all = null; // the phrases, filled for this case, while the list is open
    this.seq = 0;
    this.timer = null;
    this.id = `phr-${++serial}`;
    this.list = h("ul", { role: "listbox", id: this.id, class: "inline-phrases", hidden: true });
    this.status = h("p", { class: "visually-hidden", role: "status" });
    this.root = h("div", { class: "inline-wrap" }, this.list, this.status);
  }

  t(key, values) {
    return this.chat.t(key, values);
  }

  get open() {
    return !this.list.hidden;
  }

  // The textarea was rebuilt (language switch): tie it to the list again.
  attach(textarea) {
    this.textarea = textarea;
    textarea.setAttribute("aria-controls", this.id);
    this.list.setAttribute("aria-label", this.t("phrases"));
    this.close();
  }

  onInput() {
    const { value, selectionStart } = this.textarea;
    const match = TOKEN.exec(value.slice(0, selectionStart));
    if (!match) return this.close();
    this.token = { start: selectionStart - match[2].length - 1, end: selectionStart, query: match[2] };
    if (this.all) return this.filter();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), DEBOUNCE_MS);
  }

  async load() {
    const mine = ++this.seq;
    try {
      const path = `/api/staff/templates?case=${encodeURIComponent(this.chat.case)}`;
      const data = await this.chat.ctx.api.call("GET", path);
      if (mine !== this.seq || !this.token) return;
      this.all = data.templates || [];
      this.filter();
    } catch {
      if (mine === this.seq) this.close();
    }
  }

  filter() {
    const q = this.token?.query || "";
    this.items = this.all.filter((tpl) => phraseMatches(tpl, q)).slice(0, SHOWN);
    this.active = 0;
    this.render();
  }

  // Keys while the list is open; true when the key was used here (not sent, not typed).
  onKey(event) {
    if (!this.open) return false;
    const n = this.items.length;
    if (event.key === "ArrowDown" && n) this.move(1);
    else if (event.key === "ArrowUp" && n) this.move(-1);
    else if ((event.key === "Enter" || event.key === "Tab") && n && !event.shiftKey) this.choose(this.active);
    else if (event.key === "Escape") this.close();
    else return false;
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  move(step) {
    this.active = (this.active + step + this.items.length) % this.items.length;
    this.render();
  }

  choose(index) {
    const tpl = this.items[index];
    const token = this.token;
    if (!tpl || !token) return this.close();
    const text = this.chat.phraseText(tpl);
    const value = this.textarea.value;
    this.textarea.value = value.slice(0, token.start) + text + value.slice(token.end);
    const caret = token.start + text.length;
    this.close();
    this.chat.usedTemplate(tpl);
    this.textarea.focus();
    this.textarea.setSelectionRange(caret, caret);
  }

  close() {
    clearTimeout(this.timer);
    this.seq++;
    this.token = null;
    this.items = [];
    this.all = null; // fetched again when the list next opens
    this.list.hidden = true;
    clear(this.list);
    this.status.textContent = "";
    this.textarea?.removeAttribute("aria-activedescendant");
  }

  render() {
    const lang = this.chat.file?.lang === "en" ? "en" : "sv";
    clear(
      this.list,
      this.items.map((tpl, i) =>
        h(
          "li",
          {
            role: "option",
            id: `${this.id}-${i}`,
            "aria-selected": i === this.active ? "true" : "false",
            class: "inline-phrase",
            // mousedown, not click: the textarea keeps focus and the caret
            onmousedown: (event) => {
              event.preventDefault();
              this.choose(i);
            },
          },
          h("span", { class: "tpl-title" }, tpl.title),
          h("span", { class: "tpl-text" }, (tpl.filled && tpl.filled[lang]) || (tpl.text && tpl.text[lang]) || ""),
        ),
      ),
    );
    const n = this.items.length;
    this.list.hidden = n === 0;
    this.status.textContent = n === 0 ? this.t("templates_none") : this.t("inline_phrases_n", { n });
    if (n) this.textarea.setAttribute("aria-activedescendant", `${this.id}-${this.active}`);
    else this.textarea.removeAttribute("aria-activedescendant");
  }
}
