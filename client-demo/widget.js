// The chat launcher for a clinic's own web page:
//
//   <script src="https://direkt.example/widget.js" data-unit="vc-t" data-lang="sv" async></script>
//
// adds a fixed "Chatta med vården" button that opens a panel with the chat in an
// iframe from the same origin as this script (so the login and the chat stay on
// the direkt server). The clinic's origin must be in direkt's DIREKT_ALLOWED_ORIGINS
// (the chat's frame-ancestors). On another site the chat logs in through a pop-up
// and keeps a partitioned cookie of its own (docs/identity.md, "Embedding on
// another site"); nothing of that happens on the clinic's page. The service's name and colours are the region's brand, from
// /api/client-config (public, readable from any origin). Escape or the close button closes the panel, and focus
// goes back to the button. Styles are set through the CSSOM (element.style), so
// a host page's CSP for style attributes does not matter and nothing leaks into
// the host's own styles.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__direktWidget) return;
  window.__direktWidget = true;

  var origin = new URL(script.src, location.href).origin;
  var unit = script.getAttribute("data-unit") || "";
  var lang = script.getAttribute("data-lang") === "en" ? "en" : "sv";
  var TEXT = {
    sv: { open: "Chatta med vården", close: "Stäng chatten", title: "Chatt med vården", chat: " – chatt" },
    en: { open: "Chat with healthcare", close: "Close the chat", title: "Chat with healthcare", chat: " – chat" },
  }[lang];
  var NAVY = "#162d4f"; // until the brand has come

  function el(tag, props, styles) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else node.setAttribute(key, props[key]);
    });
    Object.assign(node.style, styles || {});
    return node;
  }

  function focusRing(node) {
    node.addEventListener("focus", function () {
      node.style.outline = "3px solid #1a1a1a";
      node.style.boxShadow = "0 0 0 6px #ffdd00";
    });
    node.addEventListener("blur", function () {
      node.style.outline = "none";
      node.style.boxShadow = node === launcher ? "0 4px 14px rgba(0,0,0,0.25)" : "none";
    });
  }

  var launcher = el(
    "button",
    { type: "button", id: "direkt-launcher", "aria-expanded": "false", "aria-controls": "direkt-panel" },
    {
      position: "fixed", right: "1.25rem", bottom: "1.25rem", zIndex: "2147483000",
      font: "600 1.05rem/1.2 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      padding: "0.85rem 1.25rem", minHeight: "2.75rem", borderRadius: "2rem", border: "2px solid #ffffff",
      background: NAVY, color: "#ffffff", cursor: "pointer", boxShadow: "0 4px 14px rgba(0,0,0,0.25)",
      display: "inline-flex", alignItems: "center", gap: "0.5rem", outline: "none",
    },
  );
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 32 32");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  Object.assign(icon.style, { width: "1.4rem", height: "1.4rem", flex: "none" });
  var path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M5 7h22v14H14l-6 5v-5H5z");
  path.setAttribute("fill", "#ffffff");
  icon.appendChild(path);
  launcher.appendChild(icon);
  launcher.appendChild(el("span", { text: TEXT.open }));

  var panel = el(
    "div",
    { id: "direkt-panel", role: "dialog", "aria-label": TEXT.title, hidden: "" },
    {
      position: "fixed", right: "1.25rem", bottom: "5.5rem", zIndex: "2147483001",
      width: "min(26rem, calc(100vw - 1.5rem))", height: "min(42rem, calc(100vh - 7rem))",
      background: "#ffffff", border: "1px solid #8a9099", borderRadius: "0.75rem",
      boxShadow: "0 10px 30px rgba(0,0,0,0.3)", overflow: "hidden", flexDirection: "column",
    },
  );
  var bar = el(
    "div",
    {},
    {
      display: "flex", justifyContent: "flex-end", alignItems: "center", background: NAVY,
      padding: "0.25rem 0.5rem", minHeight: "2.5rem",
    },
  );
  var closeButton = el(
    "button",
    { type: "button", "aria-label": TEXT.close },
    {
      font: "600 1rem/1 system-ui, sans-serif", background: "transparent", color: "#ffffff",
      border: "2px solid transparent", borderRadius: "0.4rem", padding: "0.4rem 0.7rem", cursor: "pointer",
      minHeight: "2.25rem", outline: "none",
    },
  );
  closeButton.textContent = "\u2715 " + TEXT.close;
  bar.appendChild(closeButton);
  panel.appendChild(bar);

  var frame = null;
  function src() {
    var query = "embed=1&lang=" + lang + (unit ? "&unit=" + encodeURIComponent(unit) : "");
    return origin + "/chat/?" + query;
  }

  function open() {
    if (!frame) {
      frame = el(
        "iframe",
        { title: TEXT.title, src: src(), allow: "camera; microphone; autoplay" },
        { border: "0", width: "100%", flex: "1", display: "block" },
      );
      panel.appendChild(frame);
    }
    panel.hidden = false;
    panel.style.display = "flex";
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    panel.style.display = "none";
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeButton.addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });
  // Escape pressed inside the chat: the chat page asks us to close.
  window.addEventListener("message", function (event) {
    if (frame && event.source === frame.contentWindow && event.origin === origin) {
      if (event.data && event.data.type === "direkt:close") close();
    }
  });
  focusRing(launcher);
  focusRing(closeButton);

  // The region's brand: the panel's name, and the launcher's and the bar's colours.
  function applyBrand(brand) {
    TEXT.title = brand.name[lang] + TEXT.chat;
    panel.setAttribute("aria-label", TEXT.title);
    if (frame) frame.setAttribute("title", TEXT.title);
    [launcher, bar].forEach(function (node) {
      node.style.background = brand.colors.primary;
      node.style.color = brand.colors.on_primary;
    });
    closeButton.style.color = brand.colors.on_primary;
    path.setAttribute("fill", brand.colors.on_primary);
    launcher.style.borderColor = brand.colors.on_primary;
  }
  fetch(origin + "/api/client-config", { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (config) { if (config && config.brand) applyBrand(config.brand); })
    .catch(function () {}); // unreachable: the neutral look stays
  panel.style.display = "none";

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
