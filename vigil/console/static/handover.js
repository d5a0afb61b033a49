// Shift handover: the written summary (and who wrote it), then per camera the open incidents
// with their notes and those resolved in the period with their dispositions.

import { api } from "./api.js";
import { fromLocalInput, toLocalInput, when, words } from "./dom.js";
import { DISPOSITIONS, STATES, eventLabel, h, severityBadge } from "./format.js";

const form = document.getElementById("handover-form");
const hours = document.getElementById("h-hours");
const since = document.getElementById("h-since");
const stateBox = document.getElementById("handover-state");
const errorBox = document.getElementById("handover-error");
const camerasBox = document.getElementById("handover-cameras");
const DEFAULT_HOURS = 8;

function hoursAgo(n) {
  return new Date(Date.now() - n * 3600 * 1000).toISOString();
}

function notes(inc) {
  if (!inc.notes.length) return null;
  return h(
    "ul",
    { class: "notes", "aria-label": `Notes on ${inc.title || inc.id}` },
    inc.notes.map((n) =>
      h("li", {}, h("span", { class: "meta" }, `${when(n.at)} · ${n.actor} (${words(n.action).toLowerCase()}): `), h("span", { class: "note" }, n.note)),
    ),
  );
}

function item(inc, resolved) {
  const title = inc.title || `${eventLabel(inc.event_type)} at ${inc.camera_name}`;
  const wf = inc.workflow;
  const facts = resolved
    ? `${DISPOSITIONS[wf.disposition] || "Resolved"} · resolved ${when(inc.resolved_at)}${wf.owner ? ` · ${wf.owner}` : ""}`
    : `${STATES[wf.state] || words(wf.state)}${wf.owner ? ` · owner ${wf.owner}` : " · nobody owns it"} · opened ${when(inc.opened_at)}`;
  return h(
    "li",
    { class: "handover-item", "data-incident-id": inc.id, "data-severity": inc.severity || "none" },
    h("p", {}, severityBadge(inc.severity), " ", h("a", { href: `/incidents/${encodeURIComponent(inc.id)}` }, title)),
    h("p", { class: "meta" }, `${eventLabel(inc.event_type)}${inc.zone ? ` in ${inc.zone}` : ""} · ${facts}`),
    notes(inc),
  );
}

function part(label, items, resolved, camId) {
  const id = `${resolved ? "resolved" : "open"}-${camId}`;
  if (!items.length) return h("p", { class: "muted" }, resolved ? "Nothing resolved in this period." : "Nothing open.");
  return [
    h("h3", { id }, `${label} (${items.length})`),
    h("ul", { class: "handover-list", "aria-labelledby": id }, items.map((i) => item(i, resolved))),
  ];
}

function render(out) {
  document.getElementById("summary-text").textContent = out.summary.text;
  const by = out.summary;
  let written = `Written by ${by.backend}${by.model ? ` (${by.model})` : ""}.`;
  if (by.fallback_used) written += ` The template wrote it instead of the model${by.fallback_reason ? `: ${by.fallback_reason}` : ""}.`;
  document.getElementById("summary-by").textContent = written;
  stateBox.textContent =
    `${out.open_count} open, ${out.resolved_count} resolved since ${when(out.since)}` +
    (out.truncated ? " (the list is cut short: too many incidents)" : "");
  camerasBox.replaceChildren(
    ...out.cameras.map((cam) =>
      h(
        "section",
        { class: "handover-camera", "aria-labelledby": `hc-${cam.camera_id}`, "data-camera-id": cam.camera_id },
        h("h2", { id: `hc-${cam.camera_id}` }, cam.camera_name),
        part("Open", cam.open, false, cam.camera_id),
        part("Resolved", cam.resolved, true, cam.camera_id),
      ),
    ),
  );
  if (!out.cameras.length) camerasBox.append(h("p", { class: "empty" }, "No open incidents and none resolved in this period."));
}

async function load(sinceIso) {
  errorBox.textContent = "";
  stateBox.textContent = "Loading…";
  try {
    render(await api(`/api/handover?since=${encodeURIComponent(sinceIso)}`));
  } catch (err) {
    stateBox.textContent = "";
    errorBox.textContent = `Could not load the handover: ${err.message}`;
  }
}

/** The period in the URL: ``?hours=N`` or ``?since=ISO``; default the last 8 hours. */
function fromUrl() {
  const query = new URLSearchParams(location.search);
  const at = query.get("since");
  if (at && !Number.isNaN(new Date(at).getTime())) {
    hours.value = "";
    since.value = toLocalInput(at);
    return at;
  }
  const n = Number(query.get("hours")) || DEFAULT_HOURS;
  hours.value = [...hours.options].some((o) => o.value === String(n)) ? String(n) : String(DEFAULT_HOURS);
  const iso = hoursAgo(Number(hours.value));
  since.value = toLocalInput(iso);
  return iso;
}

hours.addEventListener("change", () => {
  if (hours.value) since.value = toLocalInput(hoursAgo(Number(hours.value)));
  else since.focus();
});
since.addEventListener("input", () => {
  hours.value = "";
});

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  let iso;
  let query;
  if (hours.value) {
    iso = hoursAgo(Number(hours.value));
    query = `hours=${hours.value}`;
  } else {
    iso = fromLocalInput(since.value);
    if (!iso) {
      errorBox.textContent = "Give the time the shift started.";
      since.focus();
      return;
    }
    query = `since=${encodeURIComponent(iso)}`;
  }
  history.pushState(null, "", `${location.pathname}?${query}`);
  load(iso);
});

window.addEventListener("popstate", () => load(fromUrl()));
load(fromUrl());
