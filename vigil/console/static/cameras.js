// Cameras: a card per camera with its state, rates and newest picture; snooze for operators;
// add (probe first), change and remove runtime cameras and edit zones for admins.

import { api, post } from "./api.js";
import { when, words } from "./dom.js";
import { h } from "./format.js";
import { me, openDialog, toast } from "./shell.js";
import { openZoneEditor } from "./zones.js";

const grid = document.getElementById("camera-grid");
const errorBox = document.getElementById("cameras-error");
const countBox = document.getElementById("cameras-count");
const emptyBox = document.getElementById("cameras-empty");
const isAdmin = document.querySelector(".cameras-page").dataset.admin === "true";

const LIST_EVERY_MS = 5000;
const PICTURE_EVERY_MS = 3000;

/** The API's camera states as people read them (the word is always shown, not colour alone). */
const STATES = {
  online: "Online",
  starting: "Starting",
  stalled: "Stalled",
  offline: "Offline",
  failed: "Failed",
  ended: "Ended",
  stopped: "Stopped",
  unknown: "Unknown",
};

let role = "viewer";
let cameras = [];
const cards = new Map(); // id -> {li, picture}

function stateOf(cam) {
  return cam.state && STATES[cam.state] ? cam.state : "unknown";
}

function drops(cam) {
  const entries = Object.entries(cam.drops || {}).filter(([, n]) => n > 0);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  if (!total) return "0";
  return `${total} (${entries.map(([cause, n]) => `${words(cause).toLowerCase()} ${n}`).join(", ")})`;
}

function rate(value) {
  return value === null || value === undefined ? "–" : `${value.toFixed(1)} fps`;
}

function facts(cam) {
  const rows = [
    ["Input", rate(cam.input_fps)],
    ["Sampled", rate(cam.sampled_fps)],
    ["Drops", drops(cam)],
    ["Reconnects", cam.reconnects ?? "–"],
    ["Last frame", cam.last_frame_at ? when(cam.last_frame_at) : "none yet"],
  ];
  return h("dl", { class: "cam-facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function zonesText(cam) {
  if (!cam.zones || !cam.zones.length) return "No zones.";
  const parts = cam.zones.map((z) => {
    const events = z.events.length ? z.events.join(", ") : "every event";
    return `${z.name} (${z.mask ? "mask" : events})`;
  });
  return `Zones: ${parts.join("; ")}.`;
}

async function snooze(cam, minutes) {
  try {
    const out = await post(`/api/cameras/${encodeURIComponent(cam.id)}/snooze`, { minutes });
    toast(`Alerts of ${cam.name} snoozed until ${when(out.until)}.`);
    refresh();
  } catch (err) {
    toast(`Snooze failed: ${err.message}`, true);
  }
}

async function remove(cam) {
  if (!window.confirm(`Remove camera ${cam.name} (${cam.id})? Its incidents stay.`)) return;
  try {
    await api(`/api/cameras/${encodeURIComponent(cam.id)}`, { method: "DELETE" });
    toast(`Camera ${cam.name} removed.`);
    refresh();
  } catch (err) {
    toast(`Remove failed: ${err.message}`, true);
  }
}

/** The newest record of a camera (the list refreshes while a card's buttons stay). */
function current(cam) {
  return cameras.find((c) => c.id === cam.id) || cam;
}

function actions(cam) {
  const box = h("div", { class: "buttons cam-actions" });
  const titled = `cam-title-${cam.id}`;
  if (role === "operator" || role === "admin") {
    for (const minutes of [15, 60]) {
      box.append(
        h("button", { type: "button", "aria-describedby": titled, onclick: () => snooze(current(cam), minutes) }, `Snooze ${minutes} min`),
      );
    }
  }
  if (isAdmin) {
    box.append(h("button", { type: "button", "aria-describedby": titled, onclick: () => openZoneEditor(current(cam), { onSaved: refresh }) }, "Zones"));
    if (cam.editable) {
      box.append(h("button", { type: "button", "aria-describedby": titled, onclick: () => cameraForm.edit(current(cam)) }, "Edit"));
      box.append(h("button", { type: "button", "aria-describedby": titled, class: "danger", onclick: () => remove(current(cam)) }, "Remove"));
    }
  }
  return box;
}

function where(cam) {
  if (cam.source === "config") return "Defined in the config file.";
  if (cam.source === "runtime") return cam.editable ? "Added here (runtime camera)." : "Runtime camera.";
  return "Not defined any more (its incidents stay).";
}

function picture(cam) {
  const img = h("img", { class: "snapshot", alt: `Latest picture of ${cam.name}`, width: 320, height: 180, hidden: true });
  const none = h("p", { class: "no-picture" }, "No picture yet.");
  const box = h("div", { class: "snapshot-box" }, img, none);
  const load = () => {
    const next = new Image();
    next.onload = () => {
      img.src = next.src;
      img.hidden = false;
      none.hidden = true;
    };
    next.onerror = () => {
      img.hidden = true;
      none.hidden = false;
    };
    next.src = `/api/cameras/${encodeURIComponent(cam.id)}/snapshot?t=${Date.now()}`;
  };
  return { box, load };
}

function stateLine(cam) {
  const state = stateOf(cam);
  return h(
    "p",
    { class: `cam-state state-${state}` },
    h("span", { class: "state-mark", "aria-hidden": "true" }),
    h("span", { "data-camera-state": state }, state),
    cam.reason ? h("span", { class: "reason" }, ` — ${cam.reason}`) : null,
  );
}

function title(cam) {
  return h("h2", { id: `cam-title-${cam.id}` }, cam.name, cam.name !== cam.id ? h("small", { class: "sub" }, ` ${cam.id}`) : null);
}

/** Fill a card's parts; the buttons are rebuilt only when what they offer changes (focus stays). */
function fill(card, cam) {
  const snoozed = cam.snoozed_until ? `Alerts snoozed until ${when(cam.snoozed_until)}` : "";
  card.title.replaceChildren(title(cam));
  card.state.replaceChildren(stateLine(cam), snoozed ? h("p", { class: "snoozed" }, snoozed) : "");
  card.facts.replaceChildren(facts(cam), h("p", { class: "hint" }, where(cam), " ", zonesText(cam)));
  const key = `${role}|${cam.editable}|${cam.source}`;
  if (card.key !== key) {
    card.key = key;
    card.actions.replaceChildren(actions(cam));
  }
}

function render(list) {
  cameras = list;
  const seen = new Set();
  for (const cam of list) {
    seen.add(cam.id);
    let card = cards.get(cam.id);
    if (!card) {
      const pic = picture(cam);
      const parts = { title: h("div"), state: h("div"), facts: h("div"), actions: h("div") };
      const info = h("div", { class: "cam-info" }, parts.title, parts.state, parts.facts, parts.actions);
      const li = h("li", { class: "camera-card", "data-camera-id": cam.id }, pic.box, info);
      card = { li, pic, key: null, ...parts };
      cards.set(cam.id, card);
      grid.append(li);
      pic.load();
    }
    card.li.dataset.state = stateOf(cam);
    fill(card, cam);
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.li.remove();
      cards.delete(id);
    }
  }
  emptyBox.hidden = list.length > 0;
  countBox.textContent = list.length === 1 ? "1 camera" : `${list.length} cameras`;
}

async function refresh() {
  try {
    render(await api("/api/cameras"));
    errorBox.textContent = "";
  } catch (err) {
    errorBox.textContent = `Could not list the cameras: ${err.message}`;
  }
}

/** The add / edit dialog: probe first, then save (POST for a new camera, PATCH for a change). */
const cameraForm = (() => {
  const dialog = document.getElementById("camera-dialog");
  if (!dialog) return { edit() {} };
  const form = document.getElementById("camera-form");
  const title = document.getElementById("camera-dialog-title");
  const result = document.getElementById("probe-result");
  const error = document.getElementById("camera-error");
  const save = document.getElementById("save-camera");
  const probeButton = document.getElementById("probe-button");
  const field = (name) => form.elements.namedItem(name);
  let editing = null; // the camera being changed, or null when adding
  let probed = null; // the URL whose probe succeeded

  const urlGiven = () => field("url").value.trim();
  const update = () => {
    const url = urlGiven();
    save.disabled = editing ? Boolean(url) && url !== probed : !url || url !== probed;
  };

  function open(cam) {
    editing = cam;
    form.reset();
    probed = null;
    result.textContent = "";
    result.className = "probe-result";
    error.textContent = "";
    title.textContent = cam ? `Change camera ${cam.name}` : "Add camera";
    field("id").readOnly = Boolean(cam);
    if (cam) {
      field("id").value = cam.id;
      field("name").value = cam.name === cam.id ? "" : cam.name;
      field("url").placeholder = `now ${cam.url} (leave empty to keep it)`;
      if (cam.fps) field("fps").value = cam.fps;
      for (const box of form.querySelectorAll('input[name="events"]')) box.checked = cam.events.includes(box.value);
    } else {
      field("url").placeholder = "";
    }
    update();
    openDialog(dialog, cam ? field("name") : field("id"));
  }

  probeButton.addEventListener("click", async () => {
    const url = urlGiven();
    error.textContent = "";
    if (!url) {
      error.textContent = "Give the camera's URL to probe.";
      field("url").focus();
      return;
    }
    probeButton.disabled = true;
    result.className = "probe-result";
    result.textContent = "Probing… (up to about 15 s)";
    try {
      const out = await post("/api/cameras/probe", { url });
      if (out.ok) {
        probed = url;
        const size = out.width && out.height ? `${out.width}×${out.height}` : "unknown size";
        const fps = out.fps ? `${out.fps.toFixed(1)} fps` : "unknown rate";
        const gop = out.keyframe_interval_s ? `, a keyframe every ${out.keyframe_interval_s.toFixed(1)} s` : "";
        result.textContent = `Probe OK: ${out.codec || "unknown codec"}, ${size}, ${fps}${gop}.`;
        result.classList.add("ok");
      } else {
        probed = null;
        result.textContent = `Probe failed (${words(out.kind || "error")}): ${out.message || "no answer"}`;
        result.classList.add("bad");
      }
    } catch (err) {
      probed = null;
      result.textContent = `Probe failed: ${err.message}`;
      result.classList.add("bad");
    } finally {
      probeButton.disabled = false;
      update();
    }
  });

  field("url").addEventListener("input", update);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    if (save.disabled) return;
    const body = {};
    const name = field("name").value.trim();
    const events = [...form.querySelectorAll('input[name="events"]:checked')].map((b) => b.value);
    const fps = Number(field("fps").value);
    if (!editing) {
      body.id = field("id").value.trim();
      body.url = urlGiven();
      if (name) body.name = name;
      body.fps = fps;
      body.events = Object.fromEntries(events.map((e) => [e, {}]));
    } else {
      if (urlGiven()) body.url = urlGiven();
      if (name !== (editing.name === editing.id ? "" : editing.name)) body.name = name || null;
      if (fps !== editing.fps) body.fps = fps;
      if (events.slice().sort().join() !== editing.events.slice().sort().join()) {
        body.events = Object.fromEntries(events.map((e) => [e, {}]));
      }
    }
    save.disabled = true;
    try {
      if (editing) {
        await api(`/api/cameras/${encodeURIComponent(editing.id)}`, { method: "PATCH", body });
        toast(`Camera ${editing.id} changed.`);
      } else {
        await post("/api/cameras", body);
        toast(`Camera ${body.id} added.`);
      }
      dialog.close();
      refresh();
    } catch (err) {
      error.textContent = err.message;
      update();
    }
  });

  document.getElementById("add-camera")?.addEventListener("click", () => open(null));
  return { edit: open };
})();

// nothing is fetched while the tab is hidden; coming back refreshes at once
setInterval(() => {
  if (document.hidden) return;
  for (const card of cards.values()) card.pic.load();
}, PICTURE_EVERY_MS);
setInterval(() => {
  if (!document.hidden) refresh();
}, LIST_EVERY_MS);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

me()
  .then((user) => {
    role = user.role;
  })
  .catch(() => {})
  .finally(refresh);
