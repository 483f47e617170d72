// The cases this staff member closed in this console ("Nyss avslutade", issue 24): each with its
// journal record (record.js), so the nurse can print or send it on right after the close. Kept in
// memory only (a reload empties it; earlier contacts and the case list keep the history).

import { h, clear, clock } from "../shared/dom.js";
import { recordLinks } from "./record.js";

const KEPT = 5; // the newest closes shown

export class RecentlyClosed {
  constructor(ctx) {
    this.ctx = ctx;
    this.items = []; // {case, name, at}, newest first
    this.root = h("section", { class: "recent", "aria-labelledby": "recent-h", hidden: true });
  }

  add(caseId, name) {
    this.items = [{ case: caseId, name, at: Date.now() }, ...this.items.filter((i) => i.case !== caseId)].slice(0, KEPT);
    this.render();
  }

  render() {
    const t = (key) => this.ctx.i18n.t(key);
    this.root.hidden = !this.items.length;
    const items = this.items.map((item, n) =>
      h(
        "li",
        {},
        h("span", { id: `recent-${n}` }, `${item.name} · ${clock(item.at, this.ctx.i18n.lang)}`),
        recordLinks(this.ctx, item.case, `recent-${n}`),
      ),
    );
    clear(this.root, h("h3", { id: "recent-h" }, t("recent_heading")), h("ul", { class: "recent-list" }, items));
  }
}
