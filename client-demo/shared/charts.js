// Small charts as inline SVG, each with its data as a table beside it (the table is what a
// screen reader reads; the chart is hidden from it). No library, no inline styles (the CSP
// allows stylesheets from this origin only): colours come from classes in the page's CSS
// (.chart .series-0, .series-1, …).

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// The largest value rounded up to a "nice" axis top (1, 2, 5 × 10^n), at least 1.
export function niceMax(values) {
  const top = Math.max(1, ...values);
  const power = 10 ** Math.floor(Math.log10(top));
  return [1, 2, 5, 10].map((m) => m * power).find((n) => n >= top);
}

// A grouped bar chart: labels along x, one bar per series and label.
// series: [{name, values}]; returns an <svg> (aria-hidden: the table carries the data).
export function barChart({ labels, series, width = 640, height = 220, tickEvery = 1 }) {
  const pad = { top: 12, right: 8, bottom: 40, left: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = niceMax(series.flatMap((s) => s.values));
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.min(48, Math.max(1, (slot * 0.8) / Math.max(1, series.length)));
  const groupW = barW * series.length;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    "aria-hidden": "true",
    focusable: "false",
    preserveAspectRatio: "xMidYMid meet",
  });
  for (const tick of Number.isInteger(top / 2) ? [0, top / 2, top] : [0, top]) {
    chart.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick) }));
    chart.append(svg("text", { class: "axis", x: pad.left - 6, y: y(tick) + 4, "text-anchor": "end" }, Math.round(tick)));
  }
  labels.forEach((label, i) => {
    const x0 = pad.left + i * slot + (slot - groupW) / 2;
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const rect = svg("rect", { class: `bar series-${j}`, x: x0 + j * barW, y: y(v), width: barW, height: Math.max(0, pad.top + plotH - y(v)) });
      rect.append(svg("title", {}, `${label}: ${s.name} ${v}`));
      chart.append(rect);
    });
    if (i % tickEvery === 0) {
      chart.append(svg("text", { class: "axis", x: x0 + groupW / 2, y: height - pad.bottom + 16, "text-anchor": "middle" }, label));
    }
  });
  return chart;
}

// A legend for the series' colours (visible text; the colours repeat the table's columns).
export function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((s, j) => h("li", {}, h("span", { class: `swatch series-${j}`, "aria-hidden": "true" }), s.name)),
  );
}

// A data table: a caption, column headers, and rows whose first cell heads the row.
export function dataTable(caption, headers, rows) {
  return h(
    "table",
    { class: "data" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h(
      "tbody",
      {},
      rows.map(([head, ...cells]) => h("tr", {}, h("th", { scope: "row" }, head), cells.map((c) => h("td", {}, c)))),
    ),
  );
}

// A figure: a heading, the chart with its legend, and the table with the same numbers.
export function chartFigure({ id, title, caption, labels, series, headers, tickEvery = 1 }) {
  const headingId = `${id}-title`;
  return h(
    "section",
    { class: "chart-figure", "aria-labelledby": headingId, id },
    h("h3", { id: headingId }, title),
    h("div", { class: "chart-box" }, barChart({ labels, series, tickEvery }), legend(series)),
    h(
      "div",
      { class: "table-box", tabindex: "0", role: "region", "aria-label": caption },
      dataTable(
        caption,
        headers,
        labels.map((label, i) => [label, ...series.map((s) => s.values[i] || 0)]),
      ),
    ),
  );
}
