// Projects: the list, and a form to start one.
import { api } from "../api.js";
import { badge, card, clear, date, fmt, formValues, h, humanize, label, notice, problemText, section, select, table } from "../ui.js";
import { PROBLEM_CLASSES } from "./common.js";

export async function render(root, { navigate }) {
  const list = h("div", { id: "project-list" });
  const filters = h("form", { class: "search" },
    select("status", [["", "Any status"], ["active", "Active"], ["completed", "Completed"]], ""),
    select("problem_class", [["", "Any problem class"], ...PROBLEM_CLASSES.map((c) => [c, humanize(c)])], ""));
  const load = () => {
    const v = formValues(filters);
    return section(list, () => api("/v1/projects", { query: { limit: 100, status: v.status, problem_class: v.problem_class } }),
      (page) => table([
        { label: "Project", render: (p) => h("a", { href: `#/projects/${p.id}`, class: "project-link" }, p.name) },
        { label: "Problem", render: (p) => humanize(p.problem_class) },
        { label: "Status", render: (p) => badge(p.status) },
        { label: "Team", key: "team_size", numeric: true },
        { label: "Complexity", key: "complexity_score", numeric: true },
        { label: "Success", render: (p) => fmt(p.success_score ?? p.outcome?.success_score, 1), numeric: true },
        { label: "Started", render: (p) => date(p.start_date || p.created_at) },
      ], page.items), { emptyText: "No projects match. Start one below." });
  };
  filters.addEventListener("change", load);

  const message = h("div");
  const form = h("form", { class: "grid-form", id: "create-project" },
    label("Name", h("input", { name: "name", required: true })),
    label("Problem class", select("problem_class", PROBLEM_CLASSES, "classification")),
    label("Complexity (1–10)", h("input", { name: "complexity_score", type: "number", min: 1, max: 10, step: 0.5, value: 5 })),
    label("Team size", h("input", { name: "team_size", type: "number", min: 1, max: 500, value: 3 })),
    label("Description", h("textarea", { name: "description", rows: 2 })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Create project")), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const created = await api("/v1/projects", { method: "POST", body: formValues(form) });
      navigate(`/projects/${created.id}`);
    } catch (error) {
      clear(message, notice("error", problemText(error)));
    }
  });
  clear(root, h("div", { class: "page-head" }, h("h1", {}, "Projects")), card(null, filters, list),
    h("details", { class: "card" }, h("summary", {}, "Start a project"), form));
  await load();
}
