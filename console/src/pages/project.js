// The project dashboard: the project's whole life by default (or a range the user picks), with velocity, DORA, CI
// and git over time, team analytics and its recommendations; and the forms that keep its record: edit, outcome,
// members and artifact usages.
import { api } from "../api.js";
import { chartBox, doughnut, timeChart } from "../charts.js";
import { badge, card, clear, date, fmt, formValues, h, humanize, label, notice, pagedList, pct, problemText, section, select, table } from "../ui.js";
import { EXPERIENCE_LEVELS, MEMBER_ROLES } from "./common.js";

const UNITS = { deployment_frequency: "per week", lead_time_for_changes: "hours", change_failure_rate: "", time_to_restore: "hours" };
const DAY = 86400e3;

// ---------------------------------------------------------------- the period shown
// The API decides the period: a project's whole life is the analytics routes' own default (from its start or first
// event to its end or now, any span up to 50 years, maestro/domain/periods.py), so the dashboard asks GET .../git
// without from/to and shows what it answered: its period and the bucket its series use. The last N days end where
// that life ends; a custom range is the user's. Every other request carries the answered dates and bucket, and the
// label is written from the same dates, so what it says is what the charts show.

const isoDay = (d) => d.toISOString().slice(0, 10);
const utcDay = (d) => d.toLocaleDateString(undefined, { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" });

// What the URL asks for: ?range=life (default) | 30|90|365 (the last days of its life) | custom with from/to
// (YYYY-MM-DD, inclusive: the API's period is [from, to), so `to` is the day after).
export function requestedRange(query) {
  const range = query.get("range") || "life";
  if (range === "custom" && query.get("from") && query.get("to")) {
    return { range, name: "Custom range", from: `${query.get("from")}T00:00:00Z`,
      to: new Date(Date.parse(`${query.get("to")}T00:00:00Z`) + DAY).toISOString() };
  }
  if (/^\d+$/.test(range)) return { range, days: Number(range), name: `Last ${range} days of its life` };
  return { range: "life" };
}

// The period an answer of GET .../git covers, as the dashboard shows and requests it.
export function answeredPeriod(git, name, range) {
  return { range, name, from: new Date(git.period.start), to: new Date(git.period.end), bucket: git.bucket,
    query: { from: git.period.start, to: git.period.end }, git };
}

export async function resolvePeriod(project, query) {
  const wanted = requestedRange(query);
  const git = (period) => api(`/v1/projects/${project.id}/git`, period ? { query: period } : {});
  if (wanted.from) return answeredPeriod(await git({ from: wanted.from, to: wanted.to }), wanted.name, wanted.range);
  const life = await git();
  if (!wanted.days) return answeredPeriod(life, project.status === "completed" ? "Whole life" : "Whole life so far", "life");
  const start = Math.max(Date.parse(life.period.start), Date.parse(life.period.end) - wanted.days * DAY);
  return answeredPeriod(await git({ from: new Date(start).toISOString(), to: life.period.end }), wanted.name, wanted.range);
}

function periodControls(shown, go) {
  const choice = select("range", [["life", "Whole life"], ["30", "Last 30 days"], ["90", "Last 90 days"], ["365", "Last year"],
    ["custom", "Custom range…"]], shown.range, { "aria-label": "Period", id: "period-select" });
  // a period's last day is the day before `to` (the API's period is [from, to))
  const lastDay = new Date(shown.to.getTime() - 1);
  const fromInput = h("input", { type: "date", name: "from", value: isoDay(shown.from), "aria-label": "From" });
  const toInput = h("input", { type: "date", name: "to", value: isoDay(lastDay), "aria-label": "To" });
  const custom = h("form", { class: "custom", id: "custom-range", hidden: shown.range !== "custom" }, fromInput, "to", toInput,
    h("button", { type: "submit", class: "secondary small" }, "Show"));
  choice.addEventListener("change", () => {
    if (choice.value === "custom") { custom.hidden = false; fromInput.focus(); return; }
    go(choice.value === "life" ? {} : { range: choice.value });
  });
  custom.addEventListener("submit", (e) => {
    e.preventDefault();
    if (fromInput.value && toInput.value && fromInput.value <= toInput.value) go({ range: "custom", from: fromInput.value, to: toInput.value });
  });
  const bucketWord = { day: "daily", week: "weekly", month: "monthly" }[shown.bucket] || shown.bucket;
  const labelEl = h("span", { class: "period-label", id: "period-label", "data-from": shown.query.from, "data-to": shown.query.to,
    "data-bucket": shown.bucket }, `${shown.name}: ${utcDay(shown.from)} – ${utcDay(lastDay)}`);
  return h("div", { class: "period card" },
    h("div", { class: "period-text" }, h("span", { class: "muted" }, "Showing "), labelEl,
      h("span", { class: "muted small", id: "period-bucket" }, ` · ${bucketWord} points`)),
    choice, custom);
}

// ---------------------------------------------------------------- charts
function chartSection(el, title, loader, draw, emptyText) {
  const holder = h("div");
  el.append(card(title, holder));
  return section(holder, loader, (data) => {
    const { box, canvas } = chartBox(220);
    canvas.setAttribute("aria-label", title);
    canvas.dataset.title = title;
    if (data.first) canvas.dataset.first = data.first; // the first bucket's start: where the series begins
    queueMicrotask(() => draw(canvas, data));
    return box;
  }, { emptyText, isEmpty: (d) => !d || d.empty });
}

const hasData = (...all) => all.some((s) => s.points.some((p) => p.count > 0));
const firstOf = (s) => s.points[0]?.start;

function bucketLabel(bucket) {
  const options = bucket === "month" ? { year: "numeric", month: "short" } : { year: "2-digit", month: "short", day: "numeric" };
  return (iso) => new Date(iso).toLocaleDateString(undefined, { timeZone: "UTC", ...options });
}

function drawDashboard(root, projectId, shown) {
  const range = shown.query;
  const series = (type) => api(`/v1/projects/${projectId}/metrics`, { query: { type, bucket: shown.bucket, ...range } });
  const per = shown.bucket;
  const at = bucketLabel(per);
  const cards = h("div", { class: "grid four", id: "dora" });
  const velocityEl = h("div", { id: "velocity" });
  const charts = h("div", { class: "grid two", id: "charts" });
  const teamEl = h("div", { id: "team" });
  const recsEl = h("div", { id: "recommendations" });
  root.append(h("div", { class: "grid two" }, card("Velocity", velocityEl), card("Recommendations", recsEl)),
    h("h2", { class: "section-title" }, "DORA"), cards, charts, card("Contributors", teamEl));

  const dora = section(cards, () => api(`/v1/projects/${projectId}/dora`, { query: range }), (d) => ["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"].map((name) => {
    const m = d[name] || {};
    const value = m.unit === "ratio" ? pct(m.value) : fmt(m.value, 1);
    return h("div", { class: "metric card", "data-metric": name }, h("div", { class: "metric-label" }, humanize(name)),
      h("div", { class: "metric-value" }, value, h("span", { class: "unit" }, m.unit === "ratio" ? "" : ` ${UNITS[name] || m.unit || ""}`)),
      badge(humanize(m.band || "insufficient_data"), m.band || "insufficient_data"));
  }));

  const velocity = section(velocityEl, () => api(`/v1/projects/${projectId}/velocity`, { query: range }), (v) => h("div", {},
    h("div", { class: "big-number" }, v.score == null ? "—" : fmt(v.score, 0), h("span", { class: "unit" }, v.score == null ? "" : " / 100")),
    h("p", { class: "muted small" }, v.basis === "tenant_history" ? `Percentile ranks against ${v.history_size} projects of this workspace.` :
      `Not enough history to score (${v.history_size} other projects); the components are shown as measured.`),
    table([
      { label: "Component", render: (c) => humanize(c.name) },
      { label: "Value", render: (c) => fmt(c.value, 2), numeric: true },
      { label: "Percentile", render: (c) => (c.normalised == null ? "—" : pct(c.normalised)), numeric: true },
      { label: "Weight", render: (c) => (c.weight == null ? "—" : pct(c.weight)), numeric: true },
    ], Object.entries(v.components || {}).map(([name, c]) => ({ name, ...c })),
    { rowAttrs: (c) => ({ "data-component": c.name, "data-value": String(c.value) }) })));

  const team = api(`/v1/projects/${projectId}/team-analytics`, { query: range });
  const teamDone = section(teamEl, () => team, (t) => {
    const { box, canvas } = chartBox(180);
    canvas.dataset.title = "Commits by contributor";
    queueMicrotask(() => doughnut(canvas, { labels: t.contributors.map((c) => c.contributor), values: t.contributors.map((c) => c.commits) }));
    return h("div", {}, box, table([
      { label: "Contributor", key: "contributor" },
      { label: "Commits", key: "commits", numeric: true },
      { label: "Lines +", key: "lines_added", numeric: true },
      { label: "Lines −", key: "lines_deleted", numeric: true },
      { label: "PRs merged", key: "prs_merged", numeric: true },
      { label: "Reviews", key: "reviews_given", numeric: true },
    ], t.contributors));
  }, { emptyText: "No contributions in this period.", isEmpty: (t) => !t.contributors.length });
  const recsDone = section(recsEl, () => team, (t) => h("ul", { class: "recommendations" }, t.recommendations.map((r) =>
    h("li", { "data-rule": r.id }, h("strong", {}, humanize(r.id)), h("p", {}, r.text), h("code", { class: "small muted" }, r.rule)))),
  { emptyText: "No recommendations: nothing in this period crosses a rule's threshold.", isEmpty: (t) => !t.recommendations.length });

  // Commits from GET .../git's commit_series: the de-duplicated commits the git report counts (a commit reported by a
  // git-log drop and a push webhook is one commit), not the raw commits events.
  const commits = chartSection(charts, `Commits per ${per}`, async () => {
    const s = shown.git.commit_series;
    return { s, first: firstOf(s), empty: !s.points.some((p) => p.commits > 0) };
  }, (canvas, d) => timeChart(canvas, { type: "bar", labels: d.s.points.map((p) => at(p.start)),
    datasets: [{ label: "commits", data: d.s.points.map((p) => p.commits) }] }), "No commits in this period.");
  const lines = chartSection(charts, `Lines changed per ${per}`, () => Promise.all([series("lines_added"), series("lines_deleted")])
    .then(([added, deleted]) => ({ added, deleted, first: firstOf(added), empty: !hasData(added, deleted) })), (canvas, d) => timeChart(canvas, {
    type: "bar", stacked: true, labels: d.added.points.map((p) => at(p.start)),
    datasets: [{ label: "added", data: d.added.points.map((p) => p.sum) }, { label: "deleted", data: d.deleted.points.map((p) => -p.sum) }] }),
  "No line counts in this period.");
  const ci = chartSection(charts, `CI: success rate and duration per ${per}`, () => Promise.all([series("pipeline_success"), series("pipeline_duration_seconds")])
    .then(([success, duration]) => ({ success, duration, first: firstOf(success), empty: !hasData(success, duration) })), (canvas, d) => timeChart(canvas, {
    labels: d.success.points.map((p) => at(p.start)), percent: true, yTitle: "success rate", y2Title: "minutes",
    datasets: [{ label: "success rate", data: d.success.points.map((p) => p.mean) },
      { label: "mean duration (min)", data: d.duration.points.map((p) => (p.mean == null ? null : p.mean / 60)), yAxisID: "y2" }] }),
  "No CI runs in this period.");
  const deploys = chartSection(charts, `Deployments per ${per}`, () => Promise.all([series("deployment_succeeded"), series("deployment_failed")])
    .then(([ok, failed]) => ({ ok, failed, first: firstOf(ok), empty: !hasData(ok, failed) })), (canvas, d) => timeChart(canvas, {
    type: "bar", stacked: true, labels: d.ok.points.map((p) => at(p.start)),
    datasets: [{ label: "succeeded", data: d.ok.points.map((p) => p.sum) }, { label: "failed", data: d.failed.points.map((p) => p.sum) }] }),
  "No deployments in this period.");
  // Pull requests from GET .../git's pr_series: the de-duplicated merges the velocity card counts (a PR reported by
  // two sources is one PR), not the raw pr_merge_hours events.
  const prs = chartSection(charts, `Pull requests: merged and hours to merge per ${per}`, async () => {
    const s = shown.git.pr_series;
    return { s, first: firstOf(s), merged: s.points.reduce((n, p) => n + p.merged, 0), empty: !s.points.some((p) => p.merged > 0) };
  }, (canvas, d) => {
    canvas.dataset.merged = String(d.merged);
    timeChart(canvas, { labels: d.s.points.map((p) => at(p.start)), yTitle: "hours", y2Title: "PRs",
      datasets: [{ label: "mean hours to merge", data: d.s.points.map((p) => p.merge_hours_mean) },
        { label: "PRs merged", data: d.s.points.map((p) => p.merged), type: "bar", yAxisID: "y2" }] });
  }, "No merged pull requests in this period.");
  const ciSummary = h("div");
  charts.append(card("CI summary", ciSummary));
  const ciStats = section(ciSummary, () => api(`/v1/projects/${projectId}/ci`, { query: range }), (c) => h("div", {},
    h("div", { class: "row" }, h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Pipeline runs"), h("div", { class: "metric-value" }, fmt(c.pipeline_runs))),
      h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Success rate"), h("div", { class: "metric-value" }, pct(c.success_rate))),
      h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Median duration"), h("div", { class: "metric-value" }, fmt((c.duration_seconds?.p50 ?? 0) / 60, 1), h("span", { class: "unit" }, " min")))),
    c.flaky_workflows?.length ? h("p", {}, "Flaky: ", c.flaky_workflows.map((f) => badge(f.workflow, "low"))) : h("p", { class: "muted small" }, "No flaky workflows.")),
  { emptyText: "No CI runs in this period.", isEmpty: (c) => !c.pipeline_runs });
  return Promise.all([dora, velocity, teamDone, recsDone, commits, lines, ci, deploys, prs, ciStats]);
}

// ---------------------------------------------------------------- the project's record: edit, outcome, team, usages
const filled = (values) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "" && v !== null && v !== undefined));

function submitter(form, message, action) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      clear(message, notice("success", await action(formValues(form))));
    } catch (error) {
      clear(message, notice("error", problemText(error)));
    } finally {
      button.disabled = false;
    }
  });
}

function editForm(project, reload) {
  const message = h("div", { class: "form-message" });
  const form = h("form", { class: "grid-form", id: "edit-project" },
    label("Name", h("input", { name: "name", required: true, maxlength: 200, value: project.name })),
    label("Complexity (1–10)", h("input", { name: "complexity_score", type: "number", min: 1, max: 10, step: 0.5, value: project.complexity_score })),
    label("Team size", h("input", { name: "team_size", type: "number", min: 1, max: 500, value: project.team_size })),
    label("Start date", h("input", { name: "start_date", type: "date", value: project.start_date || "" })),
    label("Repositories (owner/repo, comma-separated)", h("input", { name: "repositories", value: (project.repositories || []).join(", ") })),
    label("Description", h("textarea", { name: "description", rows: 3 }, project.description || "")),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Save changes")), message);
  submitter(form, message, async (v) => {
    const body = { name: v.name, description: v.description, complexity_score: v.complexity_score, team_size: v.team_size,
      start_date: v.start_date || null, repositories: v.repositories ? v.repositories.split(",").map((r) => r.trim()).filter(Boolean) : [] };
    await api(`/v1/projects/${project.id}`, { method: "PATCH", body, headers: { "If-Match": `"${project.version}"` } });
    reload();
    return "Saved.";
  });
  return form;
}

function outcomeForm(project, reload) {
  const o = project.outcome || {};
  const message = h("div", { class: "form-message" });
  const completed = o.completed_at ? o.completed_at.slice(0, 10) : isoDay(new Date());
  const form = h("form", { class: "grid-form", id: "record-outcome" },
    label("Model performance (0–1)", h("input", { name: "model_performance", type: "number", min: 0, max: 1, step: 0.01, required: true, value: o.model_performance ?? "" })),
    label("Business impact (USD)", h("input", { name: "business_impact_usd", type: "number", step: 1, required: true, value: o.business_impact_usd ?? "" })),
    label("Duration (days)", h("input", { name: "duration_days", type: "number", min: 1, step: 1, required: true, value: o.duration_days ?? "" })),
    label("Compute cost (USD)", h("input", { name: "compute_cost_usd", type: "number", min: 0, step: 1, required: true, value: o.compute_cost_usd ?? "" })),
    label("Completed on", h("input", { name: "completed_at", type: "date", required: true, value: completed })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, project.outcome ? "Update outcome" : "Record outcome")), message);
  submitter(form, message, async (v) => {
    const saved = await api(`/v1/projects/${project.id}/outcome`, { method: "PUT", body: { ...v, completed_at: `${v.completed_at}T12:00:00Z` } });
    reload();
    return `Recorded: success ${fmt(saved.success_score, 1)}.`;
  });
  return form;
}

function membersPanel(projectId) {
  const list = h("div", { id: "members" });
  const message = h("div", { class: "form-message" });
  const paged = pagedList(list, (cursor) => api(`/v1/projects/${projectId}/members`, { query: { limit: 50, cursor } }), (items) => table([
    { label: "Name", key: "display_name" },
    { label: "Role", render: (m) => humanize(m.role) },
    { label: "Experience", render: (m) => humanize(m.experience_level) },
    { label: "Hours", key: "contribution_hours", numeric: true },
    { label: "", render: (m) => h("button", { type: "button", class: "link danger", onclick: async () => {
      try { await api(`/v1/projects/${projectId}/members/${m.id}`, { method: "DELETE" }); paged.reload(); } catch (error) { clear(message, notice("error", problemText(error))); }
    } }, "remove") },
  ], items, { rowAttrs: (m) => ({ class: "member-row", "data-id": m.id }) }), { emptyText: "No members recorded yet.", noun: "members" });
  const form = h("form", { class: "grid-form", id: "add-member" },
    label("Name", h("input", { name: "display_name", required: true, maxlength: 200 })),
    label("Role", select("role", MEMBER_ROLES, "ml_engineer")),
    label("Experience", select("experience_level", EXPERIENCE_LEVELS, "mid")),
    label("Hours contributed", h("input", { name: "contribution_hours", type: "number", min: 0, step: 1, value: 0 })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Add member")), message);
  submitter(form, message, async (v) => {
    const added = await api(`/v1/projects/${projectId}/members`, { method: "POST", body: v });
    form.elements.display_name.value = "";
    paged.reload();
    return `Added ${added.display_name}.`;
  });
  paged.reload();
  return card("Team", list, h("details", {}, h("summary", {}, "Add a member"), form));
}

function usagePanel(projectId) {
  const list = h("div", { id: "usages" });
  const names = new Map();
  // Usages carry artifact ids: look the names up once each (a project uses tens of artifacts, not thousands).
  const withNames = async (page) => {
    const missing = [...new Set(page.items.map((u) => u.artifact_id))].filter((id) => !names.has(id));
    const found = await Promise.all(missing.map((id) => api(`/v1/artifacts/${id}`).catch(() => null)));
    found.filter(Boolean).forEach((a) => names.set(a.id, a.name));
    return page;
  };
  const paged = pagedList(list, (cursor) => api(`/v1/projects/${projectId}/artifacts`, { query: { limit: 50, cursor } }).then(withNames),
    (items) => table([
      { label: "Artifact", render: (u) => h("a", { href: `#/artifacts/${u.artifact_id}` }, names.get(u.artifact_id) || u.artifact_id) },
      { label: "Version", key: "version" },
      { label: "Context", key: "context" },
      { label: "Recorded", render: (u) => date(u.recorded_at) },
    ], items, { stack: true, rowAttrs: () => ({ class: "usage-row" }) }), { emptyText: "No artifact usage recorded for this project.", noun: "usages" });

  // Record a usage: find the artifact by name, pick one of its ready versions.
  const message = h("div", { class: "form-message" });
  const artifactSelect = h("select", { name: "artifact_id", required: true, "aria-label": "Artifact" }, h("option", { value: "" }, "search first"));
  const versionSelect = h("select", { name: "version", required: true, "aria-label": "Version" });
  const finder = h("input", { type: "search", placeholder: "artifact name", "aria-label": "Find an artifact", id: "usage-artifact-search" });
  const loadVersions = async () => {
    clear(versionSelect);
    if (!artifactSelect.value) return;
    const page = await api(`/v1/artifacts/${artifactSelect.value}/versions`, { query: { limit: 100 } });
    const ready = page.items.filter((v) => v.status === "ready").reverse();
    clear(versionSelect, ready.length ? ready.map((v) => h("option", { value: v.version }, v.version)) : h("option", { value: "" }, "no ready version"));
  };
  let typing = null;
  const find = async () => {
    const found = await api("/v1/artifacts/search", { method: "POST", body: { query: finder.value.trim() || undefined, mode: finder.value.trim() ? "keyword" : undefined, limit: 20 } });
    clear(artifactSelect, found.items.length ? found.items.map((a) => h("option", { value: a.id }, `${a.name} (${humanize(a.type)})`))
      : h("option", { value: "" }, "no artifact matches"));
    await loadVersions();
  };
  finder.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => find().catch((error) => clear(message, notice("error", problemText(error)))), 300); });
  artifactSelect.addEventListener("change", () => loadVersions().catch((error) => clear(message, notice("error", problemText(error)))));
  const form = h("form", { class: "grid-form", id: "record-usage" },
    label("Find an artifact", finder), label("Artifact", artifactSelect), label("Version", versionSelect),
    label("Context", h("input", { name: "context", placeholder: "e.g. training data", maxlength: 500 })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Record usage")), message);
  submitter(form, message, async (v) => {
    await api(`/v1/artifacts/${v.artifact_id}/usages`, { method: "POST", body: filled({ project_id: projectId, version: v.version, context: v.context }) });
    paged.reload();
    return `Recorded the use of ${artifactSelect.selectedOptions[0]?.textContent || v.artifact_id} ${v.version}.`;
  });
  const details = h("details", {}, h("summary", {}, "Record a usage"), form);
  details.addEventListener("toggle", () => { if (details.open && artifactSelect.options.length <= 1 && !artifactSelect.value) find().catch(() => {}); }, { once: true });
  paged.reload();
  return card("Artifacts used", list, details);
}

// ---------------------------------------------------------------- the page
export async function render(root, { params, query, reload }) {
  const [projectId] = params;
  const head = h("div", { class: "page-head" });
  clear(root, head);
  const project = await section(head, () => api(`/v1/projects/${projectId}`), (p) => h("div", {},
    h("p", { class: "crumbs" }, h("a", { href: "#/projects" }, "Projects")),
    h("div", { class: "row spread" },
      h("h1", {}, p.name, " ", badge(p.status)),
      h("div", { class: "actions" }, h("a", { class: "button secondary", href: `#/plan?project=${p.id}` }, "Predict outcome"))),
    h("p", { class: "muted" }, `${humanize(p.problem_class)} · complexity ${p.complexity_score} · team of ${p.team_size}`,
      p.start_date ? ` · started ${date(p.start_date)}` : "", p.outcome ? ` · completed ${date(p.outcome.completed_at)}` : "",
      p.success_score != null ? ` · success ${fmt(p.success_score, 1)}` : ""),
    p.description ? h("p", { class: "description" }, p.description) : null),
  { back: { href: "#/projects", text: "Back to the projects" } });
  if (!project) return;

  const go = (params) => { location.hash = `#/projects/${projectId}${Object.keys(params).length ? `?${new URLSearchParams(params)}` : ""}`; };
  const periodEl = h("div", { id: "period" });
  const dashboardEl = h("div", { id: "dashboard" });
  root.append(periodEl, dashboardEl);
  const dashboard = section(periodEl, () => resolvePeriod(project, query), (shown) => periodControls(shown, go))
    .then((shown) => (shown ? drawDashboard(dashboardEl, projectId, shown) : null));
  root.append(h("div", { class: "grid two" }, membersPanel(projectId), usagePanel(projectId)),
    h("div", { class: "grid two forms" },
      card(project.outcome ? "Outcome" : "Record the outcome", project.outcome ? h("p", { class: "small", id: "outcome-summary" },
        `Model performance ${fmt(project.outcome.model_performance, 2)} · impact $${fmt(project.outcome.business_impact_usd, 0)} · ${fmt(project.outcome.duration_days, 0)} days · compute $${fmt(project.outcome.compute_cost_usd, 0)}`) : null,
      outcomeForm(project, reload)),
      card("Edit the project", editForm(project, reload))));
  await dashboard;
}
