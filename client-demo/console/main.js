// The nurse console: login, the header, and the wiring between the hub socket,
// the queue, the chats and the dialogs.

import { Api, ApiError } from "../shared/api.js";
import { applyBrand } from "../shared/brand.js";
import { Hub } from "../shared/hub.js";
import { I18n } from "../shared/i18n.js";
import { h, clear, $ } from "../shared/dom.js";
import { STRINGS } from "./strings.js";
import { Alerts } from "./alerts.js";
import { Queue } from "./queue.js";
import { ChatTabs } from "./tabs.js";
import { Dialogs } from "./dialogs.js";
import { Referral } from "./referral.js";
import { Booking } from "./booking.js";

const AVAILABILITY = ["available", "paused", "away"];
const api = new Api();
const hub = new Hub(api);
const i18n = new I18n(STRINGS);
const alerts = new Alerts(i18n, $("#toasts"));
const app = $("#app");
const t = (key, values) => i18n.t(key, values);
window.direkt = { hub, api };

let config = {};
let relabel = () => {};
i18n.addEventListener("change", () => relabel());

async function boot() {
  config = await api.call("GET", "/api/client-config").catch(() => ({}));
  applyBrand(config.brand, i18n);
  document.title = t("app_title");
  let me = null;
  try {
    me = await api.session();
  } catch (err) {
    alerts.toast(err.message, "danger");
  }
  if (!me) showLogin();
  else if (me.role !== "staff") showCitizen();
  else startConsole(me);
}

// -- pieces shared by every screen ---------------------------------------------------------

function langButton() {
  const button = h("button", { type: "button", class: "link lang", onclick: () => i18n.set(t("other_lang_code")) });
  const label = () => {
    button.textContent = t("other_lang");
    button.lang = t("other_lang_code");
  };
  label();
  return { button, label };
}

// The test banner and a header with only the title and the language switch (login, wrong role).
function bareTop(lang) {
  return [
    testBanner(),
    h("header", { class: "topbar" }, h("p", { class: "brand" }, ...brandMark()), h("span", { class: "spacer" }), lang.button),
  ];
}

// The region's logo and the console's name (the logo is decoration: the name says it).
function brandMark() {
  return [h("img", { class: "brand-logo", src: config.brand?.logo || "/shared/icon.svg", alt: "" }), t("app_title")];
}

function testBanner() {
  return config.test_environment ? h("p", { class: "banner test" }, t("test_env")) : null;
}

// -- login --------------------------------------------------------------------------------

function showLogin() {
  let values = { username: "", password: "" };
  const render = () => {
    const lang = langButton();
    const user = h("input", { id: "login-user", name: "username", autocomplete: "username", value: values.username });
    const pass = h("input", {
      id: "login-pass",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      value: values.password,
    });
    const error = h("p", { id: "login-error", class: "login-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, t("login"));
    const keep = () => (values = { username: user.value, password: pass.value });
    user.addEventListener("input", keep);
    pass.addEventListener("input", keep);
    const form = h(
      "form",
      {
        class: "login-form",
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = "";
          if (!user.value.trim() || !pass.value) {
            error.textContent = t("login_missing");
            (user.value.trim() ? pass : user).focus();
            return;
          }
          submit.textContent = t("login_busy");
          submit.setAttribute("aria-disabled", "true");
          try {
            const me = await api.loginStaff(user.value.trim(), pass.value);
            startConsole(me);
          } catch (err) {
            submit.textContent = t("login");
            submit.removeAttribute("aria-disabled");
            const denied = err instanceof ApiError && (err.status === 401 || err.status === 403);
            error.textContent = denied ? t("login_failed") : t("login_error", { message: err.message });
            pass.value = "";
            values.password = "";
            pass.focus();
          }
        },
      },
      h("div", { class: "field" }, h("label", { for: "login-user" }, t("username")), user),
      h("div", { class: "field" }, h("label", { for: "login-pass" }, t("password")), pass),
      error,
      submit,
    );
    const oidc = config.staff_oidc_login
      ? h("p", { class: "oidc" }, h("a", { class: "button", href: config.staff_oidc_login }, t("login_oidc")))
      : null;
    clear(
      app,
      ...bareTop(lang),
      h(
        "main",
        { class: "login" },
        h("h1", {}, t("login_heading")),
        h("p", { class: "muted" }, t("login_intro")),
        form,
        oidc,
      ),
    );
    return { user, lang };
  };
  const first = render();
  first.user.focus();
  relabel = () => render().lang.button.focus();
}

function showCitizen() {
  const render = () => {
    const lang = langButton();
    clear(
      app,
      ...bareTop(lang),
      h(
        "main",
        { class: "login" },
        h("h1", {}, t("app_title")),
        h("p", { class: "banner warn", role: "alert" }, t("citizen_session")),
        h("p", {}, h("a", { class: "button primary", href: "/chat/" }, t("citizen_go"))),
        h("p", {}, h("button", { type: "button", onclick: () => logout() }, t("logout"))),
      ),
    );
    return lang;
  };
  render();
  relabel = () => render().button.focus();
}

async function logout() {
  hub.stop();
  await api.logout().catch(() => {});
  location.reload();
}

// -- the console --------------------------------------------------------------------------

function startConsole(me) {
  const staff = me.staff || { id: me.uid, profession: "nurse", units: [], max_chats: 1 };
  const unitNames = new Map();
  const templateTitles = new Map(); // phrase id -> title, to name the phrase a message was written from
  const ctx = {
    api,
    hub,
    i18n,
    alerts,
    me,
    staff,
    unitName: (id) => unitNames.get(id) || id,
    learnUnit: (id) => {
      if (!id || unitNames.has(id)) return;
      unitNames.set(id, id);
      api
        .call("GET", `/api/units/${encodeURIComponent(id)}`)
        .then((unit) => {
          unitNames.set(id, unit.name);
          queue.relabel();
          renderHeader();
        })
        .catch(() => {});
    },
    // The units a patient of this age can be moved to, by name, each with its professions, whether
    // it is open and its queues (GET /api/staff/units, asked afresh: queues change); without that
    // endpoint, the units this console knows of, with every profession.
    transferUnits: async (age) => {
      try {
        const query = Number.isInteger(age) ? `?age=${age}` : "";
        const data = await api.call("GET", `/api/staff/units${query}`);
        const units = data.units.map((u) => ({ ...u, id: u.unit }));
        for (const u of units) unitNames.set(u.id, u.name);
        return units;
      } catch {
        return [...unitNames.entries()]
          .sort((a, b) => a[1].localeCompare(b[1], "sv"))
          .map(([id, name]) => ({ id, name, skills: null, open: null, waiting: null }));
      }
    },
    templateTitle: (id) => templateTitles.get(id) || "",
    learnTemplate: (id, title) => templateTitles.set(id, title),
    focusQueue: () => queue.nextButton.focus(),
    availability: "available", // available, paused or away (PUT /api/staff/availability)
    heldHere: (caseId) => chats.everHeld.has(caseId),
  };
  ctx.dialogs = new Dialogs(ctx);
  ctx.referral = new Referral(ctx); // "Hänvisa": the referral catalogue (issue 24)
  ctx.booking = new Booking(ctx); // "Boka" and "Dagens besök": booking a visit (issue 24)
  ctx.openCase = (caseId) => claim(caseId); // a case already mine (a video visit opened): its chat

  const queue = new Queue(ctx, {
    onClaimNext: () => claimNext(),
    onClaim: (caseId) => claim(caseId),
  });
  const chats = new ChatTabs(ctx, { onChange: () => queue.setHeld(chats.held) });
  alerts.onOpenQueue = () => queue.heading.focus();
  for (const id of staff.units) ctx.learnUnit(id);
  api
    .call("GET", "/api/staff/templates")
    .then((data) => {
      for (const tpl of data.templates || []) templateTitles.set(tpl.id, tpl.title);
      chats.relabelTemplates();
    })
    .catch(() => {});

  // header
  const brand = h("h1", { class: "brand" });
  const who = h("p", { class: "who" });
  const conn = h("span", { id: "conn", class: "conn", role: "status", "data-state": hub.state });
  const lang = langButton();
  const out = h("button", { type: "button", onclick: () => logout() });
  // Supervisors and administrators: a link to the supervisor view (GET /api/session lists the roles).
  const roles = staff.roles || [];
  const superLink = roles.includes("supervisor") || roles.includes("admin")
    ? h("a", { class: "supervisor-link", href: "/supervisor/", id: "supervisor-link" })
    : null;
  const availLabel = h("label", { for: "availability" });
  const avail = h("select", { id: "availability", onchange: () => setAvailability(avail.value) });
  const availBox = h("span", { class: "avail", "data-state": ctx.availability }, availLabel, avail);
  const skip = h("a", { class: "skip-link", href: "#chats" });
  const ended = h("div", { class: "banner danger ended", hidden: true });
  function renderHeader() {
    clear(brand, ...brandMark());
    clear(
      who,
      h("span", { class: "visually-hidden" }, `${t("user_label")}: `),
      h("strong", {}, me.name),
      ` · ${t(`skill_${staff.profession}`)} · `,
      staff.units.map((id) => ctx.unitName(id)).join(", "),
    );
    conn.textContent = t(`conn_${hub.state}`);
    conn.dataset.state = hub.state;
    availLabel.textContent = t("availability");
    clear(
      avail,
      AVAILABILITY.map((a) => h("option", { value: a, selected: a === ctx.availability }, t(`availability_${a}`))),
    );
    availBox.dataset.state = ctx.availability;
    out.textContent = t("logout");
    if (superLink) superLink.textContent = t("supervisor_link");
    skip.textContent = t("skip_to_chats");
    lang.label();
    clear(ended, h("p", {}, t("ended_banner")), h("button", { type: "button", onclick: () => location.reload() }, t("login_again")));
  }
  renderHeader();

  clear(
    app,
    skip,
    h(
      "div",
      { class: "shell" },
      testBanner(),
      h("header", { class: "topbar" }, brand, who, h("span", { class: "spacer" }), ctx.booking.visitsButton(), superLink, availBox, conn, lang.button, out),
      ended,
      h("main", { class: "work" }, queue.root, chats.root),
    ),
  );
  queue.heading.focus();

  relabel = () => {
    renderHeader();
    ctx.booking.relabel();
    queue.relabel();
    chats.relabel();
    alerts.title();
  };

  // -- availability: take next and alerts follow it; kept by the server, so a reload keeps it --

  function showAvailability(value) {
    ctx.availability = value;
    alerts.availability = value;
    avail.value = value;
    availBox.dataset.state = value;
    queue.renderHead();
  }

  async function setAvailability(value) {
    const before = ctx.availability;
    showAvailability(value);
    try {
      await api.call("PUT", "/api/staff/availability", { availability: value });
    } catch (err) {
      showAvailability(before);
      alerts.toast(t("availability_failed", { message: err.message }), "danger");
    }
  }

  api
    .call("GET", "/api/staff/availability")
    .then((data) => showAvailability(data.availability))
    .catch(() => {});

  // -- claiming ---------------------------------------------------------------------------

  function waitOpen(ms) {
    if (hub.state === "open") return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), ms);
      const onState = () => hub.state === "open" && done(true);
      function done(ok) {
        clearTimeout(timer);
        hub.removeEventListener("state", onState);
        resolve(ok);
      }
      hub.addEventListener("state", onState);
    });
  }

  function claimError(reply) {
    const reason =
      reply.code === "at_capacity"
        ? t("err_at_capacity")
        : reply.code === "not_available"
          ? t("err_not_available")
          : ["stale_token", "case_conflict", "conflict", "unknown_case"].includes(reply.code)
          ? t("err_gone")
          : reply.message;
    alerts.toast(t("claim_failed", { message: reason }), "danger");
    queue.refresh();
  }

  // The new tab takes keyboard focus (its composer); the toast says whose chat it is.
  function opened(reply) {
    const chat = chats.open(reply.case, reply.file, { focus: true });
    alerts.toast(t("opened", { name: chat.patientName() }));
  }

  // claim_next with a request id: a retry after a timeout or a reconnect repeats it, so the
  // server hands out the same case instead of a second one.
  async function claimNext() {
    const rid = `console-${crypto.randomUUID()}`;
    queue.setBusy(true);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        let reply;
        try {
          if (!(await waitOpen(8000))) continue;
          reply = await hub.request({ t: "claim_next", rid }, "claimed", 8000);
        } catch {
          continue; // timeout or disconnected: the same rid again
        }
        if (reply.t === "error") return claimError(reply);
        if (!reply.case) return alerts.toast(t("claim_none"));
        opened(reply);
        return;
      }
      alerts.toast(t("claim_timeout"), "danger");
    } finally {
      queue.setBusy(false);
    }
  }

  async function claim(caseId) {
    if (queue.busy) return;
    queue.setBusy(true);
    try {
      const reply = await hub.request({ t: "claim", case: caseId }, "claimed", 8000);
      if (reply.t === "error") return claimError(reply);
      opened(reply);
    } catch {
      alerts.toast(t("claim_timeout"), "danger");
    } finally {
      queue.setBusy(false);
    }
  }

  // -- the socket -------------------------------------------------------------------------

  hub.addEventListener("state", (event) => {
    const { state } = event.detail;
    conn.textContent = t(`conn_${state}`);
    conn.dataset.state = state;
    ended.hidden = state !== "ended";
  });
  hub.addEventListener("history_lost", (event) => chats.historyLost(event.detail.case));
  hub.addEventListener("frame", (event) => {
    const frame = event.detail.frame;
    switch (frame.t) {
      case "queue":
        queue.snapshot(frame.cases || []);
        chats.ensureHeld(frame.held);
        break;
      case "queue_event": {
        const ev = frame.event || {};
        if (ev.staff === staff.id && (ev.t === "expired" || ev.t === "requeued")) chats.lostIfHeld(ev.case);
        queue.event(ev);
        break;
      }
      case "claimed":
        // also when the reply came after our request had timed out
        if (frame.case) chats.open(frame.case, frame.file);
        break;
      case "done":
        chats.done(frame);
        break;
      case "assigned": // a supervisor gave her this chat: take it up as a claim (the server holds it for her)
        alerts.toast(t("assigned", { by: frame.by || "" }));
        claim(frame.case);
        break;
      case "availability": // set in another console of hers: this one follows
        if (frame.availability !== ctx.availability) showAvailability(frame.availability);
        break;
      case "msg":
      case "synced":
      case "case":
      case "typing":
      case "read":
      case "call":
        chats.frame(frame);
        break;
      case "error":
        if (frame.code === "rate_limited") alerts.toast(frame.message, "danger");
        break;
    }
  });
  hub.start();
}

boot();
