// The journal record of a closed case (issue 24, docs/record.md): links that open the printable
// page (GET /api/staff/cases/{case}/record.html) and the FHIR R4 Bundle (…/record) in a new tab.
// The server builds both afresh and audits every export; a case still open has none (409).

import { h } from "../shared/dom.js";

// A "Journalkopia" line for a closed case: `describedBy` names the case (its heading's id).
export function recordLinks(ctx, caseId, describedBy) {
  const t = (key) => ctx.i18n.t(key);
  const base = `/api/staff/cases/${encodeURIComponent(caseId)}/record`;
  const link = (href, label) =>
    h("a", { href, target: "_blank", rel: "noopener", "aria-describedby": describedBy }, label);
  return h(
    "p",
    { class: "record-links" },
    `${t("record_export")}: `,
    link(`${base}.html`, t("record_print")),
    " · ",
    link(base, t("record_fhir")),
  );
}
