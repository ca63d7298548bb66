// Projects: the list, and a form to start one.
import { api } from "../api.js";
import { badge, card, clear, date, fmt, formValues, h, humanize, label, notice, pagedList, problemText, select, table } from "../ui.js";
import { PROBLEM_CLASSES } from "./common.js";

// A team's history file goes up as it is (presigned PUT) and is imported where it lands; the page polls the
// upload's state and shows its counts and first refused rows (docs/project-import.md has the columns).
function importForm(imported) {
  const progress = h("div", { id: "import-progress", class: "upload-progress" });
  const form = h("form", { class: "grid-form", id: "import-form" },
    label("File", h("input", { name: "file", type: "file", accept: ".csv,.jsonl,.ndjson", required: true })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "dry_run" }), "dry run (validate only)"),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Import")), progress);
  const step = (text) => clear(progress, h("span", { class: "muted" }, text));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      step("Preparing the upload…");
      const upload = await api("/v1/projects/import-uploads", { method: "POST", body: { file_name: file.name, dry_run: form.elements.dry_run.checked } });
      step("Uploading…");
      const headers = { ...upload.upload.headers };
      delete headers["Content-Length"]; // the browser sets it itself
      const put = await fetch(upload.upload.url, { method: upload.upload.method || "PUT", headers, body: file });
      if (!put.ok) throw new Error(`the storage refused the upload (HTTP ${put.status})`);
      let state = upload;
      for (let i = 0; i < 300 && ["awaiting_upload", "processing"].includes(state.state); i++) {
        step(`Importing… ${state.state === "processing" && state.rows ? `${state.rows} rows` : ""}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        state = await api(`/v1/projects/import-uploads/${upload.id}`);
      }
      const counts = state.counts || {};
      clear(progress, notice(state.state === "succeeded" && !counts.rejected_count ? "success" : state.state === "failed" ? "error" : "warning",
        h("strong", {}, `${state.dry_run ? "Dry run (nothing written)" : "Import"} ${state.state}`), state.reason ? `: ${state.reason}` : "",
        h("div", { class: "import-counts" }, Object.entries(counts).map(([k, n]) => `${humanize(k.replace(/_count$/, ""))} ${n}`).join(" · ")),
        (state.first_errors || []).length ? h("ul", { class: "small" }, state.first_errors.map((r) =>
          h("li", { class: "import-error", "data-index": String(r.index) }, `row ${r.index}${r.external_id ? ` (${r.external_id})` : ""}: ${r.reason}`))) : null));
      if (state.state === "succeeded" && !state.dry_run) imported();
    } catch (error) {
      clear(progress, notice("error", error.unavailable ? "Importing is not available on this deployment yet." :
        error.status !== undefined ? problemText(error) : String(error.message || error)));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

const SORTS = [["-created_at", "Newest first"], ["created_at", "Oldest first"], ["name", "Name A–Z"], ["-name", "Name Z–A"],
  ["-start_date", "Latest start"], ["start_date", "Earliest start"], ["-success_score", "Most successful"],
  ["success_score", "Least successful"], ["-team_size", "Largest team"], ["-complexity_score", "Most complex"]];

export async function render(root, { navigate, query }) {
  const list = h("div", { id: "project-list" });
  const filters = h("form", { class: "search", id: "project-filters", role: "search" },
    h("input", { name: "q", type: "search", placeholder: "Search projects by name or description", value: query.get("q") || "",
                 "aria-label": "Search projects" }),
    select("sort", SORTS, query.get("sort") || "-created_at", { "aria-label": "Sort" }),
    select("status", [["", "Any status"], ["active", "Active"], ["completed", "Completed"]], query.get("status") || "", { "aria-label": "Status" }),
    select("problem_class", [["", "Any problem class"], ...PROBLEM_CLASSES.map((c) => [c, humanize(c)])], query.get("problem_class") || "",
           { "aria-label": "Problem class" }));
  const paged = pagedList(list, (cursor) => {
    const v = formValues(filters);
    // the default order is the table's own (newest first); a search or another order is ranked by the API
    const sort = v.sort === "-created_at" && !v.q ? "" : v.sort;
    return api("/v1/projects", { query: { limit: 50, q: v.q, sort, status: v.status, problem_class: v.problem_class, cursor } });
  }, (items) => table([
    { label: "Project", render: (p) => h("a", { href: `#/projects/${p.id}`, class: "project-link" }, p.name) },
    { label: "Problem", render: (p) => humanize(p.problem_class) },
    { label: "Status", render: (p) => badge(p.status) },
    { label: "Team", key: "team_size", numeric: true },
    { label: "Complexity", key: "complexity_score", numeric: true },
    { label: "Success", render: (p) => fmt(p.success_score ?? p.outcome?.success_score, 1), numeric: true },
    { label: "Started", render: (p) => date(p.start_date || p.created_at) },
  ], items, { stack: true }), { emptyText: "No projects match. Start one below.", noun: "projects" });
  // The filters live in the URL too, so a reload or a shared link shows the same list.
  const remember = () => {
    const v = formValues(filters);
    const params = new URLSearchParams(Object.entries(v).filter(([k, value]) => value && !(k === "sort" && value === "-created_at")));
    history.replaceState(null, "", `#/projects${params.toString() ? `?${params}` : ""}`);
  };
  let typing = null;
  filters.addEventListener("input", (e) => {
    if (e.target.name !== "q") return;
    clearTimeout(typing);
    typing = setTimeout(() => { remember(); paged.reload(); }, 300);
  });
  filters.addEventListener("change", (e) => { if (e.target.name !== "q") { remember(); paged.reload(); } });
  filters.addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(typing); remember(); paged.reload(); });

  const message = h("div");
  const form = h("form", { class: "grid-form", id: "create-project" },
    label("Name", h("input", { name: "name", required: true })),
    label("Problem class", select("problem_class", PROBLEM_CLASSES, "classification")),
    label("Complexity (1–10)", h("input", { name: "complexity_score", type: "number", min: 1, max: 10, step: 0.5, value: 5 })),
    label("Team size", h("input", { name: "team_size", type: "number", min: 1, max: 500, value: 3 })),
    label("Start date", h("input", { name: "start_date", type: "date" })),
    label("Description", h("textarea", { name: "description", rows: 2 })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Create project")), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const values = formValues(form);
      const created = await api("/v1/projects", { method: "POST", body: { ...values, start_date: values.start_date || undefined } });
      navigate(`/projects/${created.id}`);
    } catch (error) {
      clear(message, notice("error", problemText(error)));
    }
  });
  clear(root, h("div", { class: "page-head" }, h("h1", {}, "Projects")), card(null, filters, list),
    h("details", { class: "card" }, h("summary", {}, "Start a project"), form),
    h("details", { class: "card", id: "import-card" }, h("summary", {}, "Import past projects (CSV or JSONL)"), importForm(() => paged.reload())));
  await paged.reload();
}
