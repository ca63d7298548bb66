// Administration: users and roles, API keys, and the audit log with its chain verification.
import { api } from "../api.js";
import { badge, card, clear, dateTime, formValues, h, label, notice, problemText, section, select, table } from "../ui.js";
import { ROLES } from "./common.js";

function usersPanel() {
  const list = h("div", { id: "users" });
  const message = h("div");
  const load = () => section(list, () => api("/v1/users", { query: { limit: 100 } }), (page) => table([
    { label: "Name", key: "name" }, { label: "Email", key: "email" },
    { label: "Role", render: (u) => {
      const s = select("role", ROLES, u.role, { "aria-label": `Role of ${u.email}` });
      s.addEventListener("change", async () => {
        try {
          await api(`/v1/users/${u.id}`, { method: "PATCH", body: { role: s.value }, headers: { "If-Match": `"${u.version}"` } });
          clear(message, notice("success", `${u.email} is now ${s.value}.`));
          load();
        } catch (error) { clear(message, notice("error", problemText(error))); s.value = u.role; }
      });
      return s;
    } },
    { label: "Status", render: (u) => (u.invited ? badge("invited") : u.active ? badge("active") : badge("inactive")) },
    { label: "", render: (u) => h("button", { type: "button", class: "link", onclick: async () => {
      try {
        await api(`/v1/users/${u.id}`, { method: "PATCH", body: { active: !u.active }, headers: { "If-Match": `"${u.version}"` } });
        load();
      } catch (error) { clear(message, notice("error", problemText(error))); }
    } }, u.active ? "deactivate" : "activate") },
  ], page.items));
  const form = h("form", { class: "grid-form", id: "add-user" },
    label("Email", h("input", { name: "email", type: "email", required: true })),
    label("Name", h("input", { name: "name", required: true })),
    label("Role", select("role", ROLES, "developer")),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "invite", checked: true }), "send an invitation"),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Add user")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const created = await api("/v1/users", { method: "POST", body: formValues(form) });
      clear(message, notice("success", `Added ${created.email}.`, created.invite_token ? h("div", {}, "Invitation token (shown once): ", h("code", {}, created.invite_token)) : ""));
      form.reset();
      load();
    } catch (error) { clear(message, notice("error", problemText(error))); }
  });
  load();
  return card("Users and roles", list, message, h("details", {}, h("summary", {}, "Add a user"), form));
}

function keysPanel() {
  const list = h("div", { id: "api-keys" });
  const message = h("div");
  const load = () => section(list, () => api("/v1/api-keys", { query: { limit: 100 } }), (page) => table([
    { label: "Name", key: "name" }, { label: "Role", render: (k) => badge(k.role) },
    { label: "Created", render: (k) => dateTime(k.created_at) }, { label: "Expires", render: (k) => dateTime(k.expires_at) },
    { label: "Last used", render: (k) => dateTime(k.last_used_at) },
    { label: "Status", render: (k) => (k.revoked || k.revoked_at ? badge("revoked") : badge("active")) },
    { label: "", render: (k) => (k.revoked || k.revoked_at ? "" : h("button", { type: "button", class: "link danger", onclick: async () => {
      if (!confirm(`Revoke ${k.name}? Machines using it stop working at once.`)) return;
      try { await api(`/v1/api-keys/${k.id}`, { method: "DELETE" }); load(); } catch (error) { clear(message, notice("error", problemText(error))); }
    } }, "revoke")) },
  ], page.items), { emptyText: "No API keys. Create one for CI or ingestion." });
  const form = h("form", { class: "grid-form", id: "create-key" },
    label("Name", h("input", { name: "name", required: true, placeholder: "ci-ingest" })),
    label("Role", select("role", ROLES, "developer")),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Create key")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const created = await api("/v1/api-keys", { method: "POST", body: formValues(form) });
      clear(message, notice("success", "Copy the key now; it is not shown again: ", h("code", { class: "secret" }, created.key)));
      form.reset();
      load();
    } catch (error) { clear(message, notice("error", problemText(error))); }
  });
  load();
  return card("API keys", list, message, form);
}

function auditPanel() {
  const list = h("div", { id: "audit" });
  const verdict = h("div", { id: "audit-verify" });
  const filters = h("form", { class: "search", id: "audit-filters" },
    h("input", { name: "actor", placeholder: "actor (user:… or key:…)" }),
    h("input", { name: "action", placeholder: "action, e.g. artifact.create" }),
    h("input", { name: "resource", placeholder: "resource id" }),
    h("input", { name: "from", type: "date", "aria-label": "From" }), h("input", { name: "to", type: "date", "aria-label": "To" }),
    h("button", { type: "submit", class: "secondary" }, "Filter"));
  let rows = [];
  let cursor = null;
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => load(true) }, "Load more");
  const render = () => table([
    { label: "#", key: "seq", numeric: true }, { label: "When", render: (e) => dateTime(e.occurred_at) },
    { label: "Actor", key: "actor" }, { label: "Action", render: (e) => h("code", {}, e.action) },
    { label: "Resource", render: (e) => [e.resource_type, e.resource_id].filter(Boolean).join(" ") },
    { label: "Outcome", render: (e) => badge(e.outcome) }, { label: "Hash", render: (e) => h("code", { title: e.hash }, (e.hash || "").slice(0, 10)) },
  ], rows);
  async function load(next = false) {
    const v = formValues(filters);
    const query = { limit: 50, actor: v.actor, action: v.action, resource: v.resource,
      from: v.from ? `${v.from}T00:00:00Z` : "", to: v.to ? `${v.to}T23:59:59Z` : "", cursor: next ? cursor : "" };
    await section(list, () => api("/v1/audit", { query }), (page) => {
      rows = next ? rows.concat(page.items) : page.items;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      return render();
    }, { emptyText: "No audit events match.", isEmpty: (page) => !next && !page.items.length });
  }
  filters.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  const verify = h("button", { type: "button", class: "primary", id: "verify-chain", onclick: async () => {
    clear(verdict, h("span", { class: "muted" }, "Recomputing the chain…"));
    try {
      const r = await api("/v1/audit/verify");
      clear(verdict, r.intact ? notice("success", `Chain intact: ${r.checked} events checked.`) :
        notice("error", `Chain broken at event ${JSON.stringify(r.first_broken)} (${r.checked} checked).`));
    } catch (error) { clear(verdict, notice("error", problemText(error))); }
  } }, "Verify chain");
  load();
  return card("Audit log", h("div", { class: "row spread" }, filters, verify), verdict, list, more);
}

export async function render(root) {
  clear(root, h("div", { class: "page-head" }, h("h1", {}, "Administration")),
    h("div", { class: "grid two" }, usersPanel(), keysPanel()), auditPanel());
}
