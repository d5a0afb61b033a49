// The score timeline of an incident as a small inline SVG: score and peak over time, with
// the open and close markers.

import { absolute } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const W = 600;
const H = 170;
const PAD = { left: 34, right: 12, top: 14, bottom: 26 };

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

/** An <svg> chart of ``timeline`` (TimelineOut items), described for screen readers. */
export function timelineChart(timeline, titleId = "timeline-chart-title") {
  const points = timeline.map((t) => ({ ...t, t: Date.parse(t.at) })).sort((a, b) => a.t - b.t);
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart",
    role: "img",
    "aria-labelledby": `${titleId} ${titleId}-desc`,
  });
  root.append(svg("title", { id: titleId }, "Score and peak score over time"));
  if (!points.length) {
    root.append(svg("desc", { id: `${titleId}-desc` }, "No updates recorded."));
    return root;
  }
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t, t0 + 1000);
  const top = Math.max(1, ...points.map((p) => p.peak_score));
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const peak = Math.max(...points.map((p) => p.peak_score));
  const seconds = Math.round((t1 - t0) / 1000);
  root.append(
    svg(
      "desc",
      { id: `${titleId}-desc` },
      `${points.length} updates over ${seconds} s; score from ${points[0].score.toFixed(2)} ` +
        `to ${points[points.length - 1].score.toFixed(2)}, peak ${peak.toFixed(2)}.`,
    ),
  );
  root.append(svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }));
  root.append(svg("line", { class: "axis", x1: PAD.left, y1: y(0), x2: PAD.left, y2: y(top) }));
  root.append(svg("text", { x: 4, y: y(0) + 4 }, "0"));
  root.append(svg("text", { x: 4, y: y(top) + 4 }, top.toFixed(1)));
  root.append(svg("text", { x: PAD.left, y: H - 6 }, absolute(points[0].at)));
  root.append(
    svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" }, `+${seconds} s`),
  );
  const line = (key) => points.map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { class: "peak", points: line("peak_score") }));
  root.append(svg("polyline", { class: "score", points: line("score") }));
  for (const p of points) {
    if (p.kind !== "open" && p.kind !== "close") continue;
    const cx = x(p.t);
    root.append(
      svg("line", { class: `marker ${p.kind}`, x1: cx, y1: PAD.top - 4, x2: cx, y2: y(0) }),
    );
    const anchor = p.kind === "open" ? "start" : "end";
    root.append(
      svg("text", { x: cx + (p.kind === "open" ? 4 : -4), y: PAD.top + 6, "text-anchor": anchor }, p.kind),
    );
  }
  return root;
}
