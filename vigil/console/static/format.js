// Shared formatting and DOM helpers (no innerHTML with data: text goes in as text).

/** Severity display: rank (for sorting), icon (not colour alone) and label. */
export const SEVERITY = {
  critical: { rank: 4, icon: "‼", label: "Critical" },
  high: { rank: 3, icon: "▲", label: "High" },
  medium: { rank: 2, icon: "◆", label: "Medium" },
  low: { rank: 1, icon: "●", label: "Low" },
  none: { rank: 0, icon: "○", label: "Unrated" },
};

export const STATES = {
  new: "New",
  acknowledged: "Acknowledged",
  investigating: "Investigating",
  resolved: "Resolved",
};

export const DISPOSITIONS = {
  true_alarm: "True alarm",
  false_alarm: "False alarm",
  test: "Test",
  nuisance: "Nuisance",
};

/** An element with attributes (``on*``: listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The severity badge: icon + word, coloured. */
export function severityBadge(severity) {
  const key = SEVERITY[severity] ? severity : "none";
  const s = SEVERITY[key];
  return h("span", { class: `sev sev-${key}` }, h("span", { "aria-hidden": "true" }, s.icon), s.label);
}

/** "fall" -> "Fall", "left_object" -> "Left object". */
export function eventLabel(eventType) {
  const text = String(eventType || "").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** How long ago, in words ("just now", "4 min ago"). */
export function relative(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The local time (with the date when it is not today). */
export function absolute(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return today ? time : `${d.toLocaleDateString()} ${time}`;
}

/** A <time> with the relative time, the absolute one beside it. */
export function timeCell(iso) {
  return h(
    "time",
    { datetime: iso, title: new Date(iso).toString(), "data-relative": "" },
    relative(iso),
    h("small", {}, absolute(iso)),
  );
}

/** Refresh every relative time on the page (one pass, e.g. every 30 s). */
export function refreshTimes(root = document) {
  for (const el of root.querySelectorAll("time[data-relative]")) {
    el.firstChild.textContent = relative(el.getAttribute("datetime"));
  }
}
