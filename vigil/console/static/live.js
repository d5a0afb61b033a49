// The live alert list: unresolved incidents, most severe first then newest, kept up to date
// from the live feed. Feed events only mark the list dirty; it is redrawn at most once per
// animation frame, reusing rows by id, with at most MAX_ROWS rows in the DOM.

import { resolveDialog, noteDialog, perform } from "./actions.js";
import { api } from "./api.js";
import { SEVERITY, STATES, eventLabel, h, refreshTimes, severityBadge, timeCell } from "./format.js";
import { Alarm } from "./sound.js";
import { LiveFeed } from "./sse.js";
import { canAct, onKeys, toast } from "./shell.js";

const MAX_ROWS = 150;
const OPEN_STATES = ["new", "acknowledged", "investigating"];
const RESYNC_MS = 120000;
// the select column exists for operators and admins only (rendered by the server)
const selectable = document.body.dataset.canAct === "true";

const table = document.getElementById("live-list");
const tbody = table.querySelector("tbody");
const entries = new Map(); // id -> {inc, rev, tr, drawn}
const selected = new Set();
const alarm = new Alarm();
let focusedId = null;
let shown = []; // ids in the DOM, in order
let frame = 0;
let mayAct = false;
let loaded = false;
const early = []; // feed events that came in before the first load finished

function rank(inc) {
  return (SEVERITY[inc.severity] || SEVERITY.none).rank;
}

function compare(a, b) {
  return rank(b.inc) - rank(a.inc) || Date.parse(b.inc.opened_at) - Date.parse(a.inc.opened_at);
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(draw);
}

function upsert(inc) {
  if (!OPEN_STATES.includes(inc.workflow.state)) return drop(inc.id);
  const entry = entries.get(inc.id) || { rev: 0, tr: null, drawn: -1 };
  entry.inc = inc;
  entry.rev += 1;
  entries.set(inc.id, entry);
  schedule();
}

function drop(id) {
  if (!entries.delete(id)) return;
  selected.delete(id);
  schedule();
}

function patch(id, change) {
  const entry = entries.get(id);
  if (!entry) return false;
  change(entry.inc);
  entry.rev += 1;
  if (!OPEN_STATES.includes(entry.inc.workflow.state)) drop(id);
  schedule();
  return true;
}

function label(inc) {
  return `${inc.camera_name}: ${inc.title || eventLabel(inc.event_type)}`;
}

function buildRow(entry) {
  const inc = entry.inc;
  const id = inc.id;
  const check = selectable && h("input", {
    type: "checkbox",
    "aria-label": `Select ${label(inc)}`,
    tabindex: "-1",
    onchange: (ev) => select(id, ev.target.checked),
  });
  if (check) check.checked = selected.has(id);
  const state = [STATES[inc.workflow.state] || inc.workflow.state];
  const tr = h(
    "tr",
    {
      "data-incident-id": id,
      "data-severity": inc.severity || "none",
      "data-state": inc.workflow.state,
      "aria-selected": String(selected.has(id)),
      class: inc.workflow.state === "new" ? "unacked" : "",
      tabindex: "-1",
      onclick: (ev) => {
        if (!ev.target.closest("a, input")) focusRow(id);
      },
      onfocusin: () => setFocus(id, false),
    },
    selectable ? h("td", {}, check) : null,
    h(
      "td",
      {},
      severityBadge(inc.severity),
      inc.workflow.state === "new" ? [" ", h("span", { class: "badge new" }, "New")] : null,
      inc.workflow.escalated_at ? [" ", h("span", { class: "badge escalated" }, "Escalated")] : null,
    ),
    h(
      "td",
      {},
      h("a", { class: "title", href: `/incidents/${encodeURIComponent(id)}`, tabindex: "-1" },
        inc.title || eventLabel(inc.event_type)),
      h("div", { class: "sub" }, eventLabel(inc.event_type), inc.zone ? ` · ${inc.zone}` : ""),
    ),
    h("td", {}, inc.camera_name),
    h("td", { class: "when" }, timeCell(inc.opened_at)),
    h("td", {}, state, h("div", { class: "sub" }, inc.status === "open" ? "ongoing" : "ended")),
    h("td", {}, inc.workflow.owner || h("span", { class: "muted" }, "nobody")),
  );
  return tr;
}

function draw() {
  frame = 0;
  const all = [...entries.values()].sort(compare);
  const top = all.slice(0, MAX_ROWS);
  const keep = new Set(top.map((e) => e.inc.id));
  const hadFocus = table.contains(document.activeElement);
  for (const id of shown) {
    if (!keep.has(id)) {
      const old = tbody.querySelector(`tr[data-incident-id="${CSS.escape(id)}"]`);
      if (old) old.remove();
      const entry = entries.get(id);
      if (entry) entry.drawn = -1;
    }
  }
  top.forEach((entry, i) => {
    if (entry.drawn !== entry.rev || !entry.tr) {
      const fresh = buildRow(entry);
      if (entry.tr && entry.tr.isConnected) entry.tr.replaceWith(fresh);
      entry.tr = fresh;
      entry.drawn = entry.rev;
    }
    if (tbody.children[i] !== entry.tr) tbody.insertBefore(entry.tr, tbody.children[i] || null);
  });
  while (tbody.children.length > top.length) tbody.lastElementChild.remove();
  const before = shown;
  shown = top.map((e) => e.inc.id);
  if (!keep.has(focusedId)) {
    const at = Math.max(0, before.indexOf(focusedId));
    focusedId = shown[Math.min(at, shown.length - 1)] || null;
  }
  roving(hadFocus);
  summary(all);
  alarm.update(new Set(all.filter((e) => e.inc.workflow.state === "new").map((e) => e.inc.severity || "none")));
}

function summary(all) {
  const fresh = all.filter((e) => e.inc.workflow.state === "new").length;
  document.getElementById("live-count").textContent =
    `${all.length} open ${all.length === 1 ? "alert" : "alerts"}, ${fresh} new`;
  document.getElementById("live-empty").hidden = all.length > 0 || !loaded;
  const more = document.getElementById("live-more");
  more.hidden = all.length <= MAX_ROWS;
  more.textContent = `Showing the ${MAX_ROWS} most severe and newest of ${all.length}.`;
  targetLine();
}

function roving(hadFocus) {
  for (const tr of tbody.children) {
    tr.tabIndex = tr.dataset.incidentId === focusedId ? 0 : -1;
  }
  if (hadFocus && focusedId && !table.contains(document.activeElement)) rowOf(focusedId)?.focus();
}

function rowOf(id) {
  const entry = entries.get(id);
  return entry && entry.tr && entry.tr.isConnected ? entry.tr : null;
}

function setFocus(id, move = true) {
  focusedId = id;
  for (const tr of tbody.children) tr.tabIndex = tr.dataset.incidentId === id ? 0 : -1;
  if (move) rowOf(id)?.focus();
  targetLine();
}

function focusRow(id) {
  setFocus(id, true);
}

function move(step) {
  if (!shown.length) return;
  const inside = table.contains(document.activeElement);
  let at = shown.indexOf(focusedId);
  if (at < 0) at = step > 0 ? -1 : shown.length;
  else if (!inside) step = 0; // first key press brings focus back to the list
  const next = shown[Math.max(0, Math.min(shown.length - 1, at + step))];
  focusRow(next);
}

function select(id, on) {
  if (on) selected.add(id);
  else selected.delete(id);
  const tr = rowOf(id);
  if (tr) {
    tr.setAttribute("aria-selected", String(on));
    const box = tr.querySelector("input[type=checkbox]");
    if (box) box.checked = on;
  }
  targetLine();
}

/** Bulk actions work on the selection; without one, on the focused alert. */
function targets() {
  if (selected.size) return [...selected].filter((id) => entries.has(id));
  return focusedId && entries.has(focusedId) ? [focusedId] : [];
}

function targetLine() {
  const line = document.getElementById("act-target");
  if (!line) return;
  const ids = targets();
  const clear = document.getElementById("clear-selection");
  clear.hidden = selected.size === 0;
  if (selected.size) line.textContent = `${selected.size} selected`;
  else if (ids.length) line.textContent = `Focused: ${label(entries.get(ids[0]).inc)}`;
  else line.textContent = "No alert focused";
  for (const b of document.querySelectorAll(".toolbar [data-act]")) {
    if (b.dataset.act === "clear") continue;
    const single = b.dataset.act === "investigate" || b.dataset.act === "note";
    b.disabled = single ? !(focusedId && entries.has(focusedId)) : ids.length === 0;
  }
}

function applyEntries(result) {
  for (const [id, entry] of result.done) {
    patch(id, (inc) => {
      inc.workflow = { ...inc.workflow, ...entry.after };
    });
  }
  if (result.done.length) {
    for (const [id] of result.done) selected.delete(id);
    targetLine();
  }
}

async function action(name) {
  if (!mayAct) return;
  const ids = targets();
  const focused = focusedId && entries.has(focusedId) ? focusedId : null;
  const what = ids.length > 1 ? `${ids.length} selected alerts` : ids[0] && label(entries.get(ids[0]).inc);
  try {
    if (name === "acknowledge" && ids.length) applyEntries(await perform(ids, "acknowledge"));
    else if (name === "investigate" && focused) applyEntries(await perform([focused], "investigate"));
    else if (name === "resolve" && ids.length) await resolveDialog(ids, what);
    else if (name === "false_alarm" && ids.length) await resolveDialog(ids, what, "false_alarm");
    else if (name === "note" && focused) await noteDialog(focused, label(entries.get(focused).inc));
    else if (name === "clear") {
      for (const id of [...selected]) select(id, false);
    }
  } catch (err) {
    toast(err.message, true);
  }
}

async function refresh(id) {
  try {
    upsert(await api(`/api/incidents/${encodeURIComponent(id)}`));
  } catch (err) {
    if (err.status === 404) drop(id);
  }
}

function onEvent(kind, data) {
  if (!loaded) {
    early.push([kind, data]);
    return;
  }
  const id = data.incident_id;
  if (!id) return;
  if (kind === "incident.opened" || kind === "workflow.reopen") refresh(id);
  else if (kind === "incident.updated") {
    patch(id, (inc) => {
      inc.peak_score = data.peak_score;
      inc.status = data.status;
    });
  } else if (kind === "incident.closed") {
    if (entries.has(id)) refresh(id);
  } else if (kind === "escalation") {
    if (!patch(id, (inc) => (inc.workflow.escalated_at = new Date(data.ts_s * 1000).toISOString()))) {
      refresh(id);
    }
  } else if (kind.startsWith("workflow.") && data.after) {
    patch(id, (inc) => {
      inc.workflow = { ...inc.workflow, ...data.after };
    });
  }
}

async function loadAll() {
  const found = new Map();
  for (const state of OPEN_STATES) {
    let cursor = null;
    for (let page = 0; page < 4; page++) {
      const q = new URLSearchParams({ workflow: state, limit: "500" });
      if (cursor) q.set("cursor", cursor);
      const body = await api(`/api/incidents?${q}`);
      for (const inc of body.items) found.set(inc.id, inc);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
  }
  return found;
}

async function sync() {
  try {
    const found = await loadAll();
    for (const id of [...entries.keys()]) if (!found.has(id)) drop(id);
    for (const inc of found.values()) upsert(inc);
    if (!loaded) {
      loaded = true;
      for (const [kind, data] of early.splice(0)) onEvent(kind, data);
    }
    schedule();
  } catch (err) {
    toast(`The alert list could not be loaded: ${err.message}`, true);
  }
}

function feedState(state) {
  const el = document.getElementById("feed-state");
  el.textContent = { live: "Live", connecting: "Connecting…", down: "Disconnected, retrying…" }[state];
  el.className = `feed-state ${state === "live" ? "live" : state === "down" ? "down" : ""}`;
}

function keys() {
  const open = () => {
    if (focusedId) window.location.assign(`/incidents/${encodeURIComponent(focusedId)}`);
  };
  const toggle = () => selectable && focusedId && select(focusedId, !selected.has(focusedId));
  const gated = (name) => () => action(name);
  onKeys({
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    Home: () => shown.length && focusRow(shown[0]),
    End: () => shown.length && focusRow(shown[shown.length - 1]),
    Enter: (ev) => (ev.target.closest("a, button") ? ev.target.click() : open()),
    x: toggle,
    " ": (ev) => (ev.target.closest("button") ? ev.target.click() : toggle()),
    a: gated("acknowledge"),
    i: gated("investigate"),
    r: gated("resolve"),
    f: gated("false_alarm"),
    n: gated("note"),
  });
}

async function start() {
  new LiveFeed({ onEvent, onState: feedState }).start();
  keys();
  mayAct = await canAct();
  for (const b of document.querySelectorAll(".toolbar [data-act]")) {
    b.addEventListener("click", () => action(b.dataset.act));
  }
  await sync();
  setInterval(sync, RESYNC_MS);
  setInterval(() => refreshTimes(tbody), 30000);
}

start();
