// History: the incident list's filters and the report search, one query in the URL.
//
// The query string holds the whole query (shareable); the form is filled from it on load
// and on back/forward. Without search words the list pages with the API's cursor ("Load
// more"); with them the hits come best first, each with its report's matching snippet.

import { api } from "./api.js";
import { fromLocalInput, toLocalInput, when, words } from "./dom.js";
import { DISPOSITIONS, STATES, eventLabel, h, severityBadge } from "./format.js";

const form = document.getElementById("history-form");
const tbody = document.querySelector("#history-table tbody");
const more = document.getElementById("load-more");
const count = document.getElementById("history-count");
const empty = document.getElementById("history-empty");
const error = document.getElementById("history-error");
const exportNote = document.getElementById("export-note");

/** Fields copied between the form, the URL and the API (the names the API uses). */
const FIELDS = ["q", "mode", "camera", "type", "status", "workflow", "severity", "zone", "since", "until", "sort"];
const TIMES = new Set(["since", "until"]);
const DEFAULTS = { mode: "hybrid", sort: "newest" };
const PAGE = 50;

let cursor = null;
let shown = 0;
let run = 0; // the newest query; answers to older ones are dropped

/** The query the form holds, without empty fields or defaults. */
function formQuery() {
  const data = new FormData(form);
  const query = new URLSearchParams();
  for (const name of FIELDS) {
    let value = String(data.get(name) || "").trim();
    if (TIMES.has(name)) value = fromLocalInput(value);
    if (value && value !== DEFAULTS[name]) query.set(name, value);
  }
  if (!query.has("q")) query.delete("mode");
  return query;
}

/** Fill the form from a query (the page's URL). */
function fillForm(query) {
  for (const name of FIELDS) {
    const field = form.elements.namedItem(name);
    if (!field) continue;
    const value = query.get(name) || DEFAULTS[name] || "";
    field.value = TIMES.has(name) && value ? toLocalInput(value) : value;
  }
}

/** The filters the list and the export take (the search words are the search's own). */
function listParams(query) {
  const params = new URLSearchParams(query);
  params.delete("q");
  params.delete("mode");
  return params;
}

function setExports(query) {
  for (const format of ["csv", "json"]) {
    const params = listParams(query);
    params.set("format", format);
    document.getElementById(`export-${format}`).href = `/api/incidents/export?${params}`;
  }
  exportNote.hidden = !query.has("q");
}

function thumbnail(inc) {
  const alt = `Keyframe: ${eventLabel(inc.event_type)} at ${inc.camera_name}, ${when(inc.opened_at)}`;
  const img = h("img", {
    src: `/api/incidents/${encodeURIComponent(inc.id)}/thumbnail`,
    alt,
    loading: "lazy",
    width: 160,
    height: 90,
    class: "thumb",
  });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "no-thumb" }, "No picture")), {
    once: true,
  });
  return img;
}

/** A snippet with the search's matches (between [ and ]) marked. */
function snippet(text) {
  const p = h("p", { class: "snippet" });
  text.split(/\[([^\]]*)\]/).forEach((part, i) => p.append(i % 2 ? h("mark", {}, part) : part));
  return p;
}

/** One table row; ``hit`` (a search hit) adds its snippet. */
function row(inc, hit) {
  const title = inc.title || hit?.title || `${eventLabel(inc.event_type)} at ${inc.camera_name}`;
  const link = h("a", { href: `/incidents/${encodeURIComponent(inc.id)}` }, title);
  const report = h("td", { class: "report-cell" }, link);
  if (hit && hit.snippet) report.append(snippet(hit.snippet));
  const wf = inc.workflow || { state: "new" };
  const stateName = STATES[wf.state] || words(wf.state);
  const stateText = wf.disposition ? `${stateName} (${DISPOSITIONS[wf.disposition] || words(wf.disposition)})` : stateName;
  return h(
    "tr",
    { "data-incident-id": inc.id, "data-severity": inc.severity || "none" },
    h("td", {}, thumbnail(inc)),
    h("td", { class: "when" }, h("time", { datetime: inc.opened_at }, when(inc.opened_at))),
    h("td", {}, inc.camera_name, h("small", { class: "sub" }, inc.camera_id)),
    h("td", {}, eventLabel(inc.event_type), inc.zone ? h("small", { class: "sub" }, `zone ${inc.zone}`) : null),
    h("td", {}, severityBadge(inc.severity)),
    h("td", {}, h("span", { class: `badge wf-${wf.state}` }, stateText)),
    report,
  );
}

/** A row for a hit whose incident is not in the answer (it was just deleted, say). */
function bareRow(hit) {
  const inc = {
    id: hit.incident_id,
    camera_id: hit.camera_id,
    camera_name: hit.camera_id,
    event_type: hit.event_type,
    title: hit.title,
    severity: null,
    workflow: { state: "new" },
  };
  return row(inc, hit);
}

function showCount() {
  empty.hidden = shown > 0;
  count.textContent = shown === 1 ? "1 incident" : `${shown} incidents${cursor ? " so far" : ""}`;
}

async function load(query, append) {
  const mine = ++run;
  error.textContent = "";
  more.disabled = true;
  try {
    let rows;
    if (query.has("q")) {
      const params = new URLSearchParams(query);
      params.delete("sort");
      params.set("limit", "100");
      if (!params.has("mode")) params.set("mode", DEFAULTS.mode);
      const hits = await api(`/api/search?${params}`);
      if (mine !== run) return;
      rows = hits.map((hit) => (hit.incident ? row(hit.incident, hit) : bareRow(hit)));
      cursor = null;
    } else {
      const params = listParams(query);
      params.set("limit", String(PAGE));
      if (append && cursor) params.set("cursor", cursor);
      const page = await api(`/api/incidents?${params}`);
      if (mine !== run) return;
      rows = page.items.map((inc) => row(inc));
      cursor = page.next_cursor;
    }
    if (!append) {
      tbody.replaceChildren();
      shown = 0;
    }
    tbody.append(...rows);
    shown += rows.length;
    showCount();
  } catch (err) {
    if (mine !== run) return;
    error.textContent = `Could not load incidents: ${err.message}`;
  } finally {
    if (mine === run) {
      more.hidden = !cursor;
      more.disabled = false;
    }
  }
}

async function loadCameras(selected) {
  const select = form.elements.namedItem("camera");
  try {
    const cameras = await api("/api/cameras");
    for (const cam of cameras) {
      select.append(h("option", { value: cam.id }, cam.name === cam.id ? cam.id : `${cam.name} (${cam.id})`));
    }
  } catch (err) {
    error.textContent = `Could not list the cameras: ${err.message}`;
  }
  if (selected && ![...select.options].some((o) => o.value === selected)) {
    select.append(h("option", { value: selected }, selected));
  }
  select.value = selected || "";
}

function fromUrl() {
  const query = new URLSearchParams(location.search);
  fillForm(query);
  setExports(query);
  return query;
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const query = formQuery();
  const url = `${location.pathname}${query.size ? `?${query}` : ""}`;
  if (url !== location.pathname + location.search) history.pushState(null, "", url);
  setExports(query);
  load(query, false);
});

form.addEventListener("reset", (ev) => {
  ev.preventDefault();
  fillForm(new URLSearchParams());
  form.elements.namedItem("q").focus();
});

more.addEventListener("click", () => load(new URLSearchParams(location.search), true));

window.addEventListener("popstate", () => load(fromUrl(), false));

const initial = fromUrl();
loadCameras(initial.get("camera"));
load(initial, false);
