// The project dashboard: velocity, DORA, CI and git over time, team analytics and its recommendations.
import { api } from "../api.js";
import { chartBox, doughnut, timeChart, weekLabel } from "../charts.js";
import { badge, card, clear, date, empty, fmt, h, humanize, pct, section, select, table } from "../ui.js";

const UNITS = { deployment_frequency: "per week", lead_time_for_changes: "hours", change_failure_rate: "", time_to_restore: "hours" };

function period(days) {
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400e3);
  return { from: from.toISOString(), to: to.toISOString() };
}

function chartSection(el, title, loader, draw, emptyText) {
  const holder = h("div");
  el.append(card(title, holder));
  return section(holder, loader, (data) => {
    const { box, canvas } = chartBox(220);
    canvas.setAttribute("aria-label", title);
    canvas.dataset.title = title;
    queueMicrotask(() => draw(canvas, data));
    return box;
  }, { emptyText, isEmpty: (d) => !d || d.empty });
}

const series = (projectId, type, range) => api(`/v1/projects/${projectId}/metrics`, { query: { type, bucket: "week", ...range } });
const hasData = (...all) => all.some((s) => s.points.some((p) => p.count > 0));

export async function render(root, { params, query }) {
  const [projectId] = params;
  const days = Number(query.get("days") || 90);
  const range = period(days);
  const head = h("div", { class: "page-head" });
  const cards = h("div", { class: "grid four", id: "dora" });
  const velocityEl = h("div", { id: "velocity" });
  const charts = h("div", { class: "grid two", id: "charts" });
  const teamEl = h("div", { id: "team" });
  const recsEl = h("div", { id: "recommendations" });
  const usedEl = h("div");
  const periodSelect = select("days", [["30", "Last 30 days"], ["90", "Last 90 days"], ["180", "Last 180 days"], ["365", "Last year"]], String(days));
  periodSelect.addEventListener("change", () => { location.hash = `#/projects/${projectId}?days=${periodSelect.value}`; });
  clear(root, head, h("div", { class: "grid two" }, card("Velocity", velocityEl), card("Recommendations", recsEl)),
    h("h2", { class: "section-title" }, "DORA"), cards, charts, h("div", { class: "grid two" }, card("Team", teamEl), card("Artifacts used", usedEl)));

  const project = await section(head, () => api(`/v1/projects/${projectId}`), (p) => h("div", { class: "row spread" },
    h("div", {}, h("p", { class: "crumbs" }, h("a", { href: "#/projects" }, "Projects")),
      h("h1", {}, p.name, " ", badge(p.status)),
      h("p", { class: "muted" }, `${humanize(p.problem_class)} · complexity ${p.complexity_score} · team of ${p.team_size}`,
        p.start_date ? ` · started ${date(p.start_date)}` : "", p.success_score != null ? ` · success ${fmt(p.success_score, 1)}` : "")),
    h("div", { class: "row" }, periodSelect, h("a", { class: "button secondary", href: `#/plan?project=${p.id}` }, "Predict outcome"))));
  if (!project) return;

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
    ], Object.entries(v.components || {}).map(([name, c]) => ({ name, ...c })))));

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

  // Usages carry artifact ids: look the few names up (a project uses tens of artifacts, not thousands).
  const usages = async () => {
    const page = await api(`/v1/projects/${projectId}/artifacts`, { query: { limit: 100 } });
    const ids = [...new Set(page.items.map((u) => u.artifact_id))].slice(0, 50);
    const found = await Promise.all(ids.map((id) => api(`/v1/artifacts/${id}`).catch(() => null)));
    const names = Object.fromEntries(found.filter(Boolean).map((a) => [a.id, a.name]));
    return { ...page, items: page.items.map((u) => ({ ...u, artifact_name: names[u.artifact_id] })) };
  };
  const used = section(usedEl, usages, (page) => table([
    { label: "Artifact", render: (u) => h("a", { href: `#/artifacts/${u.artifact_id}` }, u.artifact_name || u.artifact_id) },
    { label: "Version", key: "version" },
    { label: "Context", key: "context" },
    { label: "Recorded", render: (u) => date(u.recorded_at) },
  ], page.items), { emptyText: "No artifact usage recorded for this project." });

  const git = chartSection(charts, "Commits per week", () => api(`/v1/projects/${projectId}/git`, { query: range })
    .then((g) => ({ ...g, empty: !g.commits })), (canvas, g) => timeChart(canvas, {
    type: "bar", labels: g.commits_per_week.weeks.map((w) => weekLabel(w.week_start)),
    datasets: [{ label: "commits", data: g.commits_per_week.weeks.map((w) => w.commits) }] }), "No commits in this period.");
  const lines = chartSection(charts, "Lines changed per week", () => Promise.all([series(projectId, "lines_added", range), series(projectId, "lines_deleted", range)])
    .then(([added, deleted]) => ({ added, deleted, empty: !hasData(added, deleted) })), (canvas, d) => timeChart(canvas, {
    type: "bar", stacked: true, labels: d.added.points.map((p) => weekLabel(p.start)),
    datasets: [{ label: "added", data: d.added.points.map((p) => p.sum) }, { label: "deleted", data: d.deleted.points.map((p) => -p.sum) }] }),
  "No line counts in this period.");
  const ci = chartSection(charts, "CI: success rate and duration per week", () => Promise.all([series(projectId, "pipeline_success", range), series(projectId, "pipeline_duration_seconds", range)])
    .then(([success, duration]) => ({ success, duration, empty: !hasData(success, duration) })), (canvas, d) => timeChart(canvas, {
    labels: d.success.points.map((p) => weekLabel(p.start)), percent: true, yTitle: "success rate", y2Title: "minutes",
    datasets: [{ label: "success rate", data: d.success.points.map((p) => p.mean) },
      { label: "mean duration (min)", data: d.duration.points.map((p) => (p.mean == null ? null : p.mean / 60)), yAxisID: "y2" }] }),
  "No CI runs in this period.");
  const deploys = chartSection(charts, "Deployments per week", () => Promise.all([series(projectId, "deployment_succeeded", range), series(projectId, "deployment_failed", range)])
    .then(([ok, failed]) => ({ ok, failed, empty: !hasData(ok, failed) })), (canvas, d) => timeChart(canvas, {
    type: "bar", stacked: true, labels: d.ok.points.map((p) => weekLabel(p.start)),
    datasets: [{ label: "succeeded", data: d.ok.points.map((p) => p.sum) }, { label: "failed", data: d.failed.points.map((p) => p.sum) }] }),
  "No deployments in this period.");
  const prs = chartSection(charts, "Pull requests: merge time per week", () => series(projectId, "pr_merge_hours", range)
    .then((s) => ({ s, empty: !hasData(s) })), (canvas, d) => timeChart(canvas, {
    labels: d.s.points.map((p) => weekLabel(p.start)), yTitle: "hours",
    datasets: [{ label: "mean hours to merge", data: d.s.points.map((p) => p.mean) }, { label: "PRs merged", data: d.s.points.map((p) => p.count), type: "bar", yAxisID: "y2" }] }),
  "No merged pull requests in this period.");
  const ciSummary = h("div");
  charts.append(card("CI summary", ciSummary));
  const ciStats = section(ciSummary, () => api(`/v1/projects/${projectId}/ci`, { query: range }), (c) => h("div", {},
    h("div", { class: "row" }, h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Pipeline runs"), h("div", { class: "metric-value" }, fmt(c.pipeline_runs))),
      h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Success rate"), h("div", { class: "metric-value" }, pct(c.success_rate))),
      h("div", { class: "metric" }, h("div", { class: "metric-label" }, "Median duration"), h("div", { class: "metric-value" }, fmt((c.duration_seconds?.p50 ?? 0) / 60, 1), h("span", { class: "unit" }, " min")))),
    c.flaky_workflows?.length ? h("p", {}, "Flaky: ", c.flaky_workflows.map((f) => badge(f.workflow, "low"))) : h("p", { class: "muted small" }, "No flaky workflows.")),
  { emptyText: "No CI runs in this period.", isEmpty: (c) => !c.pipeline_runs });
  await Promise.all([dora, velocity, teamDone, recsDone, used, git, lines, ci, deploys, prs, ciStats]);
}
