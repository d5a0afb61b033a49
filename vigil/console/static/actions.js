// The workflow actions of the live list and the incident page, with their dialogs.

import { drafts, post } from "./api.js";
import { openDialog, toast } from "./shell.js";

const DONE = {
  acknowledge: "acknowledged",
  investigate: "under investigation",
  resolve: "resolved",
  notes: "noted",
  assign: "assigned",
  reopen: "reopened",
};

/** POST one action to each incident in turn; returns {done: [[id, entry]], failed: [[id, msg]]}. */
export async function run(ids, action, body = {}) {
  const done = [];
  const failed = [];
  for (const id of ids) {
    try {
      done.push([id, await post(`/api/incidents/${encodeURIComponent(id)}/${action}`, body)]);
    } catch (err) {
      failed.push([id, err.message]);
    }
  }
  return { done, failed };
}

/** Run and say how it went; throws (for a dialog to show) only when nothing was applied. */
export async function perform(ids, action, body = {}) {
  const result = await run(ids, action, body);
  if (result.done.length === 0 && result.failed.length) {
    const [id, msg] = result.failed[0];
    throw new Error(ids.length > 1 ? `none ${DONE[action]}: ${id}: ${msg}` : msg);
  }
  const what = ids.length === 1 ? "Incident" : `${result.done.length} incidents`;
  let message = `${what} ${DONE[action]}.`;
  if (result.failed.length) {
    const list = result.failed.map(([id, msg]) => `${id}: ${msg}`).join("; ");
    message += ` Not applied to ${result.failed.length}: ${list}`;
  }
  toast(message, result.failed.length > 0);
  return result;
}

/** A modal form: ``submit(form)`` runs on submit; errors stay in the dialog. Resolves to
 * whether it was submitted. */
function ask(dialogId, { setup, submit, focus }) {
  const dialog = document.getElementById(dialogId);
  const form = dialog.querySelector("form");
  const error = dialog.querySelector(".error");
  const button = form.querySelector("button[type=submit]");
  return new Promise((resolve) => {
    let ok = false;
    const onSubmit = async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        await submit(form);
        ok = true;
        dialog.close();
      } catch (err) {
        error.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener(
      "close",
      () => {
        form.removeEventListener("submit", onSubmit);
        resolve(ok);
      },
      { once: true },
    );
    error.textContent = "";
    setup(form, dialog);
    openDialog(dialog, focus ? dialog.querySelector(focus) : null);
  });
}

/** The resolve dialog (``disposition`` preselected, e.g. false_alarm for the f key). */
export function resolveDialog(ids, label, disposition = null) {
  return ask("resolve-dialog", {
    setup(form, dialog) {
      form.reset();
      dialog.querySelector("#resolve-title").textContent =
        disposition === "false_alarm" ? "Resolve as false alarm" : "Resolve";
      dialog.querySelector("#resolve-target").textContent = label;
      if (disposition) form.querySelector(`input[value="${disposition}"]`).checked = true;
    },
    focus: disposition ? "#resolve-note" : "input[name=disposition]",
    async submit(form) {
      const data = new FormData(form);
      const note = String(data.get("note") || "").trim();
      const body = { disposition: data.get("disposition") };
      if (note) body.note = note;
      await perform(ids, "resolve", body);
    },
  });
}

/** The note dialog of one incident; the draft is kept in this browser until saved. */
export function noteDialog(id, label) {
  const text = document.getElementById("note-text");
  const keep = () => drafts.set(id, text.value);
  return ask("note-dialog", {
    setup(_form, dialog) {
      dialog.querySelector("#note-target").textContent = label;
      text.value = drafts.get(id);
      text.addEventListener("input", keep);
      dialog.addEventListener("close", () => text.removeEventListener("input", keep), {
        once: true,
      });
    },
    focus: "#note-text",
    async submit() {
      await perform([id], "notes", { note: text.value.trim() });
      drafts.clear(id);
      text.value = "";
    },
  });
}

/** The assign dialog of one incident. */
export function assignDialog(id, owner) {
  return ask("assign-dialog", {
    setup(form) {
      form.reset();
      form.querySelector("#assign-owner").value = owner || "";
    },
    focus: "#assign-owner",
    async submit(form) {
      const value = String(new FormData(form).get("owner") || "").trim();
      await perform([id], "assign", { owner: value || null });
    },
  });
}

