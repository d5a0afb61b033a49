// One incident: evidence, reports, procedure, score timeline, workflow history and notes,
// previous / next, and the workflow actions (operators and admins).

import { assignDialog, perform, resolveDialog } from "./actions.js";
import { api, drafts } from "./api.js";
import { timelineChart } from "./chart.js";
import { DISPOSITIONS, STATES, absolute, eventLabel, h, severityBadge } from "./format.js";
import { LiveFeed } from "./sse.js";
import { canAct, onKeys, toast } from "./shell.js";

const root = document.getElementById("incident");
const id = root.dataset.incidentId;
const OPEN = ["new", "acknowledged", "investigating"];
const ALLOWED = {
  acknowledge: ["new", "investigating"],
  investigate: ["new", "acknowledged"],
  resolve: OPEN,
  false_alarm: OPEN,
  assign: OPEN,
  reopen: ["resolved"],
};
let detail = null;
let mediaKey = "";
let mayAct = false;
let reloadTimer = 0;
const neighbours = { prev: null, next: null };
const VERBS = {
  acknowledge: "acknowledged",
  investigate: "started investigating",
  resolve: "resolved",
  reopen: "reopened",
  note: "added a note",
  assign: "assigned",
  escalate: "escalated",
};

function fill(elId, ...children) {
  document.getElementById(elId).replaceChildren(...children.flat().filter((c) => c !== null));
}

function facts(d) {
  const state = STATES[d.workflow.state] || d.workflow.state;
  const disposition = d.workflow.disposition ? ` (${DISPOSITIONS[d.workflow.disposition]})` : "";
  const parts = [
    severityBadge(d.severity),
    `${eventLabel(d.event_type)} on ${d.camera_name}`,
    d.zone ? ` · zone ${d.zone}` : "",
    ` · opened ${absolute(d.opened_at)}`,
    d.closed_at ? ` · ended ${absolute(d.closed_at)}` : " · ongoing",
    ` · ${state}${disposition}`,
    ` · owner ${d.workflow.owner || "nobody"}`,
    d.workflow.escalated_at ? [" ", h("span", { class: "badge escalated" }, "Escalated")] : null,
  ];
  fill("incident-facts", parts);
}

const MEDIA = [
  ["keyframe:annotated", "Annotated keyframe", "the detection marked with its box, score and zone"],
  ["keyframe:onset", "Clean keyframe", "the camera image at the onset, unmarked"],
];

function media(d) {
  const key = d.media.map((m) => m.id).join(",");
  if (key === mediaKey) return; // redrawing would restart a playing clip
  mediaKey = key;
  const figures = [];
  const event = eventLabel(d.event_type);
  for (const [kind, name, what] of MEDIA) {
    for (const m of d.media.filter((x) => x.kind === kind)) {
      figures.push(
        h(
          "figure",
          {},
          h("img", { src: m.url, alt: `${name}: ${event} on ${d.camera_name}, ${what}`, width: m.width, height: m.height }),
          h("figcaption", {}, `${name} · ${absolute(m.at)}`),
        ),
      );
    }
  }
  for (const m of d.media.filter((x) => x.kind === "clip")) {
    const video = h(
      "video",
      { controls: true, preload: "metadata", width: m.width, height: m.height, "aria-label": `Clip of the ${event.toLowerCase()}` },
      h("source", { src: m.url, type: m.content_type }),
      h("track", { kind: "captions", src: "/static/footage.vtt", srclang: "en", label: "Footage notes" }),
    );
    const length = m.duration_s ? ` · ${m.duration_s.toFixed(1)} s` : "";
    figures.push(
      h("figure", { class: "wide" }, video, h("figcaption", {}, `Clip${length} · `, h("a", { href: m.url, download: "" }, "Download the clip"))),
    );
  }
  const known = new Set(["clip", ...MEDIA.map((x) => x[0])]);
  for (const m of d.media.filter((x) => !known.has(x.kind))) {
    figures.push(h("p", {}, h("a", { href: m.url }, `${m.kind} (${m.content_type})`)));
  }
  if (!figures.length) figures.push(h("p", { class: "muted" }, "No keyframe or clip recorded (yet)."));
  fill("media", figures);
}

function report(r, current) {
  const by = r.model ? `${r.backend} (${r.model})` : r.backend;
  return h(
    "article",
    { class: "report", "aria-label": `Report ${r.seq}` },
    h("h3", {}, r.title, current ? " " : null, current ? h("span", { class: "badge" }, "Current") : null),
    h("p", {}, severityBadge(r.severity)),
    h("p", {}, r.summary),
    h("p", {}, h("strong", {}, "Recommended action: "), r.action),
    h("p", { class: "meta" }, `Written by ${by} at ${absolute(r.created_at)} for update ${r.incident_version}.`),
    r.fallback_used
      ? h("p", { class: "fallback" }, `The model's report was rejected${r.fallback_reason ? `: ${r.fallback_reason}` : ""}. This is the template report.`)
      : null,
  );
}

function change(e) {
  const out = [];
  const b = e.before || {};
  const a = e.after || {};
  if (b.state !== a.state && a.state) out.push(`${STATES[b.state] || b.state || "—"} → ${STATES[a.state] || a.state}`);
  if (b.owner !== a.owner) out.push(`owner ${b.owner || "nobody"} → ${a.owner || "nobody"}`);
  if (a.disposition && b.disposition !== a.disposition) out.push(DISPOSITIONS[a.disposition] || a.disposition);
  return out.join(", ");
}

function history(d) {
  const items = d.history.map((e) =>
    h(
      "li",
      {},
      h("time", { datetime: e.at }, absolute(e.at)),
      " · ",
      h("strong", {}, e.actor),
      ` ${VERBS[e.action] || e.action}`,
      change(e) ? ` (${change(e)})` : "",
      e.note ? h("p", { class: "note" }, e.note) : null,
    ),
  );
  if (!items.length) items.push(h("li", { class: "muted" }, "No action yet."));
  fill("history", items);
}

function toolbar(d) {
  for (const b of document.querySelectorAll(".toolbar [data-act]")) {
    const allowed = ALLOWED[b.dataset.act] || [];
    b.disabled = !allowed.includes(d.workflow.state);
    if (b.dataset.act === "reopen") b.hidden = d.workflow.state !== "resolved";
  }
}

function render(d) {
  document.getElementById("incident-title").textContent = d.title || `${eventLabel(d.event_type)} on ${d.camera_name}`;
  document.title = `${d.title || eventLabel(d.event_type)} · Vigil`;
  facts(d);
  media(d);
  const reports = [...d.reports].reverse().map((r, i) => report(r, i === 0));
  fill("reports", reports.length ? reports : h("p", { class: "muted" }, "No report yet."));
  document.getElementById("procedure").textContent = d.procedure || "No procedure is configured for this event.";
  fill(
    "timeline",
    timelineChart(d.timeline),
    h("p", { class: "legend" }, h("span", { class: "k-score" }, "━ score"), h("span", { class: "k-peak" }, "╍ peak")),
  );
  history(d);
  toolbar(d);
  root.setAttribute("aria-busy", "false");
}

async function load() {
  try {
    detail = await api(`/api/incidents/${encodeURIComponent(id)}`);
    document.getElementById("incident-error").textContent = "";
    render(detail);
  } catch (err) {
    root.setAttribute("aria-busy", "false");
    document.getElementById("incident-error").textContent =
      err.status === 404 ? `There is no incident ${id} on your cameras.` : err.message;
    fill("media");
  }
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 300);
}

async function loadNeighbours() {
  try {
    Object.assign(neighbours, await api(`/api/incidents/${encodeURIComponent(id)}/neighbours`));
  } catch (_) {
    /* no links */
  }
  const link = (slot, target, name, rel, key) =>
    fill(
      slot,
      target
        ? h("a", { href: `/incidents/${encodeURIComponent(target)}`, rel, "aria-keyshortcuts": key }, name)
        : h("span", { class: "none" }, `No ${name.toLowerCase()}`),
    );
  link("prev-slot", neighbours.prev, "Previous incident", "prev", "[");
  link("next-slot", neighbours.next, "Next incident", "next", "]");
}

async function act(name) {
  if (!mayAct || !detail || !(ALLOWED[name] || []).includes(detail.workflow.state)) return;
  const what = `${detail.camera_name}: ${detail.title || eventLabel(detail.event_type)}`;
  try {
    if (name === "acknowledge" || name === "investigate" || name === "reopen") await perform([id], name);
    else if (name === "resolve") await resolveDialog([id], what);
    else if (name === "false_alarm") await resolveDialog([id], what, "false_alarm");
    else if (name === "assign") await assignDialog(id, detail.workflow.owner);
  } catch (err) {
    toast(err.message, true);
  }
  load();
}

function noteForm() {
  const form = document.getElementById("note-inline");
  if (!form) return;
  const text = document.getElementById("note-inline-text");
  const error = document.getElementById("note-inline-error");
  text.value = drafts.get(id);
  text.addEventListener("input", () => drafts.set(id, text.value));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      await perform([id], "notes", { note: text.value.trim() });
      drafts.clear(id);
      text.value = "";
      load();
    } catch (err) {
      error.textContent = err.message;
    }
  });
}

function go(target) {
  if (target) window.location.assign(`/incidents/${encodeURIComponent(target)}`);
}

async function start() {
  onKeys({
    "[": () => go(neighbours.prev),
    "]": () => go(neighbours.next),
    u: () => window.location.assign("/"),
    a: () => act("acknowledge"),
    i: () => act("investigate"),
    r: () => act("resolve"),
    f: () => act("false_alarm"),
    n: () => mayAct && document.getElementById("note-inline-text")?.focus(),
  });
  for (const b of document.querySelectorAll(".toolbar [data-act]")) {
    b.addEventListener("click", () => act(b.dataset.act));
  }
  noteForm();
  mayAct = await canAct();
  await load();
  loadNeighbours();
  new LiveFeed({
    onEvent: (_kind, data) => {
      if (data.incident_id === id) reloadSoon();
    },
  }).start();
}

start();
