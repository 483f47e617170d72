// Swedish and English. Each client passes its own dictionary; the choice is
// kept in localStorage (where the browser allows it) and put on <html lang>.

import { store, stored } from "./storage.js";

export class I18n extends EventTarget {
  constructor(strings, fallback = "sv") {
    super();
    this.strings = strings;
    // Values every text may name, e.g. {service}: the region's brand (shared/brand.js). A value
    // may be a {sv, en} object. When {advice_phone} is empty, a "key.noadvice" variant is used.
    this.globals = { service: "direkt", short_name: "direkt", advice_phone: "" };
    const saved = stored("local", "direkt.lang");
    this.lang = saved === "en" || saved === "sv" ? saved : fallback;
    document.documentElement.lang = this.lang;
  }

  // t("key") or t("key", {n: 3}) with {n} placeholders.
  t(key, values = {}) {
    const plain = !this.globals.advice_phone && this.strings[`${key}.noadvice`];
    const entry = plain || this.strings[key];
    if (!entry) return key;
    const text = entry[this.lang] ?? entry.sv;
    return text.replace(/\{(\w+)\}/g, (_, name) => {
      if (name in values) return String(values[name]);
      if (name in this.globals) return this.pick(this.globals[name]) || String(this.globals[name]);
      return `{${name}}`;
    });
  }

  // Values every text may name; the current screen renders again on "change".
  setGlobals(values) {
    Object.assign(this.globals, values);
    this.dispatchEvent(new Event("change"));
  }

  // A {sv, en} object from the server.
  pick(text) {
    if (!text) return "";
    return text[this.lang] || text.sv || "";
  }

  set(lang) {
    this.lang = lang;
    store("local", "direkt.lang", lang);
    document.documentElement.lang = lang;
    this.dispatchEvent(new Event("change"));
  }
}
