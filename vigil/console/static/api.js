// The JSON API with the session cookie. A 401 opens the in-page login dialog and retries
// the request afterwards, so nothing on the page (a half-written note) is lost.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let relogin = null; // the pending re-login, shared by every request that got a 401

async function errorText(res) {
  try {
    const body = await res.json();
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
  } catch (_) {
    /* not JSON */
  }
  return `${res.status} ${res.statusText}`;
}

/** Fetch ``path`` (JSON in and out); throws ApiError with the server's ``detail``. */
export async function api(path, { method = "GET", body, relog = true } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `the server cannot be reached (${err.message})`);
  }
  if (res.status === 401 && relog && !path.startsWith("/api/auth/login")) {
    await reauthenticate();
    return api(path, { method, body, relog: false });
  }
  if (!res.ok) throw new ApiError(res.status, await errorText(res));
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

/** Shorthand for a POST with a JSON body. */
export function post(path, body = {}) {
  return api(path, { method: "POST", body });
}

/** Log in with the form of the re-login dialog; resolves once a new session is set. */
export function reauthenticate() {
  if (relogin) return relogin;
  const dialog = document.getElementById("relogin-dialog");
  if (!dialog) {
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return new Promise(() => {});
  }
  relogin = new Promise((resolve, reject) => {
    const form = document.getElementById("relogin-form");
    const error = document.getElementById("relogin-error");
    const cancel = document.getElementById("relogin-cancel");
    const before = document.activeElement;
    const done = (ok) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      relogin = null;
      if (before && before.focus) before.focus();
      if (ok) resolve();
      else reject(new ApiError(401, "not logged in"));
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const data = new FormData(form);
      try {
        await api("/api/auth/login", {
          method: "POST",
          body: { username: data.get("username"), password: data.get("password") },
          relog: false,
        });
        form.reset();
        done(true);
      } catch (err) {
        error.textContent = err.message;
      }
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      done(false);
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    error.textContent = "";
    dialog.showModal();
    document.getElementById("relogin-password").focus();
  });
  return relogin;
}

function store() {
  try {
    return window.localStorage;
  } catch (_) {
    return null;
  }
}

/** A preference kept in this browser (localStorage), with a default. */
export function pref(name, fallback) {
  const raw = store()?.getItem(`vigil.${name}`);
  return raw === null || raw === undefined ? fallback : raw === "true";
}

/** Keep a preference in this browser. */
export function setPref(name, value) {
  store()?.setItem(`vigil.${name}`, String(Boolean(value)));
}

/** Note drafts per incident, kept until the note is saved (they survive a reload). */
export const drafts = {
  get(incidentId) {
    return store()?.getItem(`vigil.draft.${incidentId}`) || "";
  },
  set(incidentId, text) {
    if (text) store()?.setItem(`vigil.draft.${incidentId}`, text);
    else store()?.removeItem(`vigil.draft.${incidentId}`);
  },
  clear(incidentId) {
    store()?.removeItem(`vigil.draft.${incidentId}`);
  },
};
