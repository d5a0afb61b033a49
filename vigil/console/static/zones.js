// The zone editor: polygons drawn on a camera's picture, kept in normalised [0, 1] points.
// Runtime cameras save through PATCH /api/cameras/{id} (zones); the config file's cameras get
// the YAML to paste into the config.

import { api } from "./api.js";
import { svg } from "./dom.js";
import { h } from "./format.js";
import { openDialog, toast } from "./shell.js";

const dialog = document.getElementById("zones-dialog");
const $ = (id) => document.getElementById(id);

let camera = null;
let zones = []; // [{name, polygon: [[x, y], ...], events: [...], mask}]
let points = []; // the polygon being drawn
let size = { w: 1600, h: 900 }; // the picture's pixels (the SVG's coordinates)
let onSaved = () => {};

const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;

function pointsText() {
  if (!points.length) return "No points yet.";
  const list = points.map(([x, y]) => `(${x}, ${y})`).join(", ");
  return `${points.length} point${points.length === 1 ? "" : "s"}: ${list}`;
}

function shape(polygon, cls, closed) {
  const coords = polygon.map(([x, y]) => `${x * size.w},${y * size.h}`).join(" ");
  return svg(closed ? "polygon" : "polyline", { points: coords, class: cls });
}

function draw() {
  const board = $("zone-svg");
  board.setAttribute("viewBox", `0 0 ${size.w} ${size.h}`);
  const keep = board.querySelector("title");
  board.replaceChildren(keep);
  for (const z of zones) board.append(shape(z.polygon, z.mask ? "zone mask" : "zone", true));
  if (points.length) board.append(shape(points, "drawing", points.length > 2));
  const r = Math.max(size.w, size.h) / 160;
  for (const [x, y] of points) board.append(svg("circle", { cx: x * size.w, cy: y * size.h, r, class: "point" }));
  $("zone-points").textContent = pointsText();
  $("zone-undo").disabled = !points.length;
  $("zone-close").disabled = points.length < 3;
  list();
  yaml();
}

function list() {
  const ul = $("zone-list");
  ul.replaceChildren();
  if (!zones.length) ul.append(h("li", { class: "muted" }, "None yet."));
  zones.forEach((z, i) => {
    const what = z.mask ? "mask" : z.events.length ? z.events.join(", ") : "every event";
    const remove = h("button", { type: "button", "aria-label": `Remove zone ${z.name}` }, "Remove");
    remove.addEventListener("click", () => {
      zones.splice(i, 1);
      draw();
      $("zone-label").focus();
    });
    ul.append(h("li", {}, h("span", {}, `${z.name} — ${what}, ${z.polygon.length} points `), remove));
  });
}

function yaml() {
  const box = $("zone-yaml-box");
  box.hidden = camera.editable;
  if (camera.editable) return;
  const lines = [`# under "- id: ${camera.id}" in cameras:`, "    zones:"];
  if (!zones.length) lines[1] = "    zones: []";
  for (const z of zones) {
    lines.push(`      - name: ${JSON.stringify(z.name)}`);
    lines.push(`        polygon: [${z.polygon.map(([x, y]) => `[${x}, ${y}]`).join(", ")}]`);
    if (z.events.length) lines.push(`        events: [${z.events.join(", ")}]`);
    if (z.mask) lines.push("        mask: true");
  }
  $("zone-yaml").value = lines.join("\n");
}

function add(x, y) {
  points.push([round(x), round(y)]);
  $("zone-error").textContent = "";
  draw();
}

function closePolygon() {
  const error = $("zone-error");
  const name = $("zone-label").value.trim();
  if (points.length < 3) {
    error.textContent = "A zone needs three points or more.";
    return;
  }
  if (!name) {
    error.textContent = "Give the zone a label first.";
    $("zone-label").focus();
    return;
  }
  if (zones.some((z) => z.name === name)) {
    error.textContent = `There is a zone called ${name} already.`;
    $("zone-label").focus();
    return;
  }
  const events = [...$("zone-events").querySelectorAll("input:checked")].map((b) => b.value);
  zones.push({ name, polygon: points, events, mask: $("zone-mask").checked });
  points = [];
  $("zone-label").value = "";
  $("zone-mask").checked = false;
  error.textContent = "";
  draw();
  toast(`Zone ${name} added${camera.editable ? " (not saved yet)" : ""}.`);
}

async function save() {
  const error = $("zone-error");
  error.textContent = "";
  if (points.length) {
    error.textContent = "Close or undo the polygon being drawn first.";
    return;
  }
  try {
    await api(`/api/cameras/${encodeURIComponent(camera.id)}`, { method: "PATCH", body: { zones } });
    toast(`Zones of ${camera.name} saved.`);
    onSaved();
    dialog.close();
  } catch (err) {
    error.textContent = `Not saved: ${err.message}`;
  }
}

function loadPicture() {
  const img = $("zone-image");
  img.alt = `Latest picture of ${camera.name}`;
  img.hidden = false;
  img.onload = () => {
    size = { w: img.naturalWidth || 1600, h: img.naturalHeight || 900 };
    $("zone-stage").classList.remove("blank");
    draw();
  };
  img.onerror = () => {
    img.hidden = true;
    $("zone-stage").classList.add("blank");
    draw();
  };
  img.src = `/api/cameras/${encodeURIComponent(camera.id)}/snapshot?t=${Date.now()}`;
}

if (dialog) {
  $("zone-svg").addEventListener("click", (ev) => {
    const rect = ev.currentTarget.getBoundingClientRect();
    add((ev.clientX - rect.left) / rect.width, (ev.clientY - rect.top) / rect.height);
  });
  $("zone-add-point").addEventListener("click", () => {
    const x = Number($("zone-x").value);
    const y = Number($("zone-y").value);
    if ($("zone-x").value === "" || $("zone-y").value === "" || !(x >= 0 && x <= 1 && y >= 0 && y <= 1)) {
      $("zone-error").textContent = "A point's x and y are between 0 and 1 (0, 0 is the top left).";
      return;
    }
    add(x, y);
  });
  $("zone-undo").addEventListener("click", () => {
    points.pop();
    draw();
  });
  $("zone-close").addEventListener("click", closePolygon);
  $("zone-save").addEventListener("click", save);
}

/** Open the editor on ``cam`` (a record of GET /api/cameras); ``onSaved`` after a save. */
export function openZoneEditor(cam, options = {}) {
  if (!dialog) return;
  camera = cam;
  onSaved = options.onSaved || (() => {});
  zones = (cam.zones || []).map((z) => ({ ...z, polygon: z.polygon.map((p) => [...p]), events: [...z.events] }));
  points = [];
  size = { w: 1600, h: 900 };
  $("zones-title").textContent = `Zones of ${cam.name}`;
  $("zones-where").textContent = cam.editable
    ? "Saved to this runtime camera; the pipeline uses them at once."
    : cam.source === "config"
      ? "This camera is defined in the config file: draw here, then paste the YAML below into the config and restart."
      : "This camera cannot be changed here.";
  $("zone-save").hidden = !cam.editable;
  const events = $("zone-events");
  events.querySelectorAll("label").forEach((l) => l.remove());
  events.hidden = !(cam.events || []).length;
  for (const ev of cam.events || []) {
    events.append(h("label", {}, h("input", { type: "checkbox", value: ev }), ` ${ev.replaceAll("_", " ")}`));
  }
  $("zone-label").value = "";
  $("zone-mask").checked = false;
  $("zone-error").textContent = "";
  loadPicture();
  draw();
  openDialog(dialog, $("zone-label"));
}
