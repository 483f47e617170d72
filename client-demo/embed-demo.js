// The demo clinic page: which clinic it pretends to be comes from ?unit=
// (default: Viksängs vårdcentral of the demo region), then the embed is added
// exactly as a clinic would write it: <script src="…/widget.js" data-unit="…">.
(function () {
  "use strict";
  var asked = new URLSearchParams(location.search).get("unit") || "";
  var unit = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(asked) ? asked : "vc-viksang";
  fetch("/api/units/" + encodeURIComponent(unit))
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (found) {
      if (!found) return;
      document.querySelectorAll("[data-unit-name]").forEach(function (el) { el.textContent = found.name; });
      document.title = found.name + " – påhittad mottagning";
    });
  // The region's brand: the service's name and advice number, as the clinic would write them.
  fetch("/api/client-config")
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (config) {
      if (!config || !config.brand) return;
      document.querySelector("[data-service-name]").textContent = config.brand.name.sv;
      var advice = document.querySelector("[data-advice-phone]");
      advice.querySelector("span").textContent = config.brand.advice_phone;
      advice.hidden = !config.brand.advice_phone;
    });
  var script = document.createElement("script");
  script.src = "/widget.js";
  script.async = true;
  script.setAttribute("data-unit", unit);
  script.setAttribute("data-lang", "sv");
  document.body.appendChild(script);
})();
