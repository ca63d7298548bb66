// Sign in (or create a workspace where signup is open).
import { login, signup } from "../api.js";
import { card, clear, formValues, h, label, notice, problemText } from "../ui.js";

export async function render(root, { query, navigate }) {
  const next = query.get("next") || "/library";
  const message = h("div", { class: "form-message" });
  let mode = "login";

  const form = h("form", { class: "stack", id: "login-form", novalidate: true });
  const title = h("h1", {}, "Sign in to Maestro ML");
  const toggle = h("button", { type: "button", class: "link", id: "toggle-signup" });

  function draw() {
    title.textContent = mode === "login" ? "Sign in to Maestro ML" : "Create a workspace";
    toggle.textContent = mode === "login" ? "New here? Create a workspace" : "Have an account? Sign in";
    clear(form,
      mode === "signup" ? label("Workspace name", h("input", { name: "tenant_name", required: true, autocomplete: "organization" })) : null,
      mode === "signup" ? label("Your name", h("input", { name: "name", required: true, autocomplete: "name" })) : null,
      label("Email", h("input", { name: "email", type: "email", required: true, autocomplete: "username" })),
      label("Password", h("input", { name: "password", type: "password", required: true,
        autocomplete: mode === "login" ? "current-password" : "new-password", minlength: mode === "signup" ? 12 : null })),
      message,
      h("button", { type: "submit", class: "primary" }, mode === "login" ? "Sign in" : "Create workspace"));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    clear(message, h("span", { class: "muted" }, mode === "login" ? "Signing in…" : "Creating…"));
    try {
      if (mode === "login") await login(values.email, values.password);
      else await signup(values);
      navigate(next);
    } catch (error) {
      const text = error.status === 401 ? "Email or password is wrong." :
        error.status === 429 ? "Too many attempts: wait a few minutes and try again." : problemText(error);
      clear(message, notice("error", text));
    } finally {
      button.disabled = false;
    }
  });
  toggle.addEventListener("click", () => { mode = mode === "login" ? "signup" : "login"; clear(message); draw(); });
  draw();
  clear(root, h("div", { class: "login" }, card(null, h("div", { class: "brand big" }, "Maestro ", h("span", {}, "ML")), title, form, toggle)));
}
