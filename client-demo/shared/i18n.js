// Swedish and English. Each client passes its own dictionary; the choice is
// kept in localStorage and put on <html lang>.

export class I18n extends EventTarget {
  constructor(strings, fallback = "sv") {
    super();
    this.strings = strings;
    const saved = localStorage.getItem("direkt.lang");
    this.lang = saved === "en" || saved === "sv" ? saved : fallback;
    document.documentElement.lang = this.lang;
  }

  // t("key") or t("key", {n: 3}) with {n} placeholders.
  t(key, values = {}) {
    const entry = this.strings[key];
    if (!entry) return key;
    const text = entry[this.lang] ?? entry.sv;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
  }

  // A {sv, en} object from the server.
  pick(text) {
    if (!text) return "";
    return text[this.lang] || text.sv || "";
  }

  set(lang) {
    this.lang = lang;
    localStorage.setItem("direkt.lang", lang);
    document.documentElement.lang = lang;
    this.dispatchEvent(new Event("change"));
  }
}
