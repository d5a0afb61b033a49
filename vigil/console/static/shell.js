// What every page shares: the header's toggles and logout, the key help, dialogs, messages.

import { api, pref, setPref } from "./api.js";

let who = null;

/** The caller (GET /api/auth/me), fetched once per page. */
export function me() {
  if (!who) who = api("/api/auth/me");
  return who;
}

/** Whether the caller may act on incidents (operator or admin, as /api/auth/me says). */
export async function canAct() {
  try {
    const user = await me();
    return user.role === "operator" || user.role === "admin";
  } catch (_) {
    return false;
  }
}

/** Show a short message in the status region (``bad``: an error). */
export function toast(message, bad = false) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.classList.toggle("bad", bad);
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.textContent = "";
  }, bad ? 10000 : 5000);
}

/** Open a modal dialog; focus goes to ``focus`` (or its first field) and back afterwards. */
export function openDialog(dialog, focus) {
  const before = document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      if (before && before.isConnected && before.focus) before.focus();
    },
    { once: true },
  );
  dialog.showModal();
  const target = focus || dialog.querySelector("input, textarea, select, button");
  if (target) target.focus();
}

for (const dialog of document.querySelectorAll("dialog")) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
}

/** True while typing in a field or while a dialog is open: page keys do nothing then. */
export function typing(ev) {
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return true;
  if (document.querySelector("dialog[open]")) return true;
  const field = "textarea, select, [contenteditable], input:not([type=checkbox]):not([type=radio])";
  return Boolean(t && t.closest && t.closest(field));
}

/** Page keys: ``map`` from a key (as KeyboardEvent.key) to a handler. */
export function onKeys(map) {
  document.addEventListener("keydown", (ev) => {
    if (typing(ev)) return;
    const run = map[ev.key];
    if (run) {
      ev.preventDefault();
      run(ev);
    }
  });
}

function toggle(id, name, apply) {
  const button = document.getElementById(id);
  if (!button) return;
  const set = (on) => {
    button.setAttribute("aria-pressed", String(on));
    apply(on);
  };
  set(pref(name, false));
  button.addEventListener("click", () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    setPref(name, on);
    set(on);
  });
}

toggle("large-toggle", "large", (on) => document.body.classList.toggle("large", on));
toggle("mute-toggle", "muted", (on) => {
  document.body.dataset.muted = String(on);
  document.dispatchEvent(new CustomEvent("vigil:mute", { detail: on }));
});

const keysDialog = document.getElementById("keys-dialog");
if (keysDialog) {
  const show = () => openDialog(keysDialog, keysDialog.querySelector("button"));
  document.getElementById("keys-button").addEventListener("click", show);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "?" && !typing(ev)) {
      ev.preventDefault();
      show();
    }
  });
}

const logout = document.getElementById("logout-button");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await api("/api/auth/logout", { method: "POST", relog: false });
    } catch (_) {
      /* already logged out: the login page either way */
    }
    window.location.assign("/login");
  });
}
