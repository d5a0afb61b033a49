// The login form: POST /api/auth/login, then to ``next`` (a path on this site only).

import { api } from "./api.js";

function safeNext(target) {
  if (!target || !target.startsWith("/") || target.startsWith("//") || target.includes("\\")) {
    return "/";
  }
  return target;
}

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("/api/auth/login", {
      method: "POST",
      body: { username: data.get("username"), password: data.get("password") },
      relog: false,
    });
    window.location.assign(safeNext(form.dataset.next));
  } catch (err) {
    error.textContent = err.message;
    document.getElementById("login-password").select();
  } finally {
    button.disabled = false;
  }
});
