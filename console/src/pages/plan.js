// Plan a project: a profile in, predicted outcomes with intervals and recommendations out. Changing the team size
// predicts again, so the effect of staffing on the outcome is visible.
import { api } from "../api.js";
import { badge, card, clear, errorState, fmt, formValues, h, humanize, label, loading, select, table } from "../ui.js";
import { EXPERIENCE_LEVELS, MEMBER_ROLES, PROBLEM_CLASSES } from "./common.js";

const TARGETS = [
  ["success_score", "Success score", (v) => fmt(v, 1), "/ 100"],
  ["duration_days", "Duration", (v) => fmt(v, 0), "days"],
  ["compute_cost_usd", "Compute cost", (v) => `$${Math.round(v).toLocaleString()}`, ""],
];

const pointOf = (value) => (value && typeof value === "object" ? value.point ?? value.value : value);

function intervalBar(target) {
  const i80 = target.intervals?.["80"], i90 = target.intervals?.["90"];
  const lo = Math.min(...[i90?.[0], i80?.[0], target.point].filter((v) => v != null));
  const hi = Math.max(...[i90?.[1], i80?.[1], target.point].filter((v) => v != null));
  const pad = (hi - lo) * 0.1 || 1;
  const at = (v) => `${(100 * (v - (lo - pad))) / (hi - lo + 2 * pad)}%`;
  const span = (range, cls) => (range ? h("div", { class: cls, style: `left:${at(range[0])};width:calc(${at(range[1])} - ${at(range[0])})` }) : null);
  return h("div", { class: "interval-bar", title: "90% and 80% prediction intervals" },
    span(i90, "band90"), span(i80, "band80"), h("div", { class: "point", style: `left:${at(target.point)}` }));
}

function targetCard(name, title, format, unit, target) {
  if (target && (target.point === null || target.point === undefined)) {
    return h("div", { class: "card metric prediction", "data-target": name, "data-point": "null" },
      h("div", { class: "metric-label" }, title), h("div", { class: "metric-value" }, "—"),
      h("div", { class: "muted small" }, target.method || "no estimate yet"));
  }
  if (!target) return h("div", { class: "card metric" }, h("div", { class: "metric-label" }, title), h("div", { class: "muted" }, "not predicted"));
  const i80 = target.intervals?.["80"], i90 = target.intervals?.["90"];
  const basis = target.basis && target.basis !== "model" ? h("div", { class: "muted small" }, target.method || target.basis) : null;
  return h("div", { class: "card metric prediction", "data-target": name, "data-point": String(target.point),
    "data-intervals": JSON.stringify(target.intervals || {}) },
    h("div", { class: "metric-label" }, title),
    h("div", { class: "metric-value" }, format(target.point), h("span", { class: "unit" }, ` ${unit}`)),
    intervalBar(target),
    h("div", { class: "small" }, i80 ? `80%: ${format(i80[0])}–${format(i80[1])}` : "", i90 ? ` · 90%: ${format(i90[0])}–${format(i90[1])}` : ""),
    (target.top_contributions || []).length ? h("ul", { class: "contributions small" }, target.top_contributions.slice(0, 4).map((c) =>
      h("li", {}, h("span", {}, humanize(c.feature)), h("span", { class: c.contribution >= 0 ? "up" : "down" }, `${c.contribution >= 0 ? "+" : ""}${fmt(c.contribution, 2)}`)))) : null,
    target.model_version ? h("div", { class: "muted small" }, `model ${target.model_version}`) : basis);
}

// "2 senior, 1 mid" from {senior: 2, mid: 1, junior: 0}.
const counts = (byName) => Object.entries(byName || {}).filter(([, n]) => n > 0)
  .map(([name, n]) => `${fmt(n, 1)} ${humanize(name)}`).join(", ") || "—";

// A team option as POST /v1/recommendations gives it: {shape: {team_size, roles, experience}, predicted:
// {duration_days, duration_80: [low, high], success_score, success_80: [low, high]}}.
export function teamBlock(title, team) {
  if (!team) return null;
  const shape = team.shape || {};
  const predicted = team.predicted || {};
  const interval = (range, format) => (Array.isArray(range) ? ` (80%: ${format(range[0])}–${format(range[1])})` : "");
  const outcome = (name, label, value, range, format, unit) => (value == null ? null :
    h("div", { class: "metric", "data-predicted": name }, h("div", { class: "metric-label" }, label),
      h("div", { class: "metric-value small-value" }, format(value), h("span", { class: "unit" }, unit)),
      h("div", { class: "muted small" }, interval(range, format).trim())));
  return h("div", { class: "team-option" }, h("h3", {}, title),
    h("ul", { class: "facts" },
      h("li", {}, h("span", { class: "muted" }, "Size "), fmt(shape.team_size ?? shape.size)),
      h("li", {}, h("span", { class: "muted" }, "Roles "), counts(shape.roles)),
      h("li", {}, h("span", { class: "muted" }, "Experience "), counts(shape.experience))),
    h("div", { class: "predicted" },
      outcome("success_score", "Success", pointOf(predicted.success_score), predicted.success_80, (v) => fmt(v, 1), " / 100"),
      outcome("duration_days", "Duration", pointOf(predicted.duration_days), predicted.duration_80, (v) => fmt(v, 0), " days")));
}

export async function render(root, { query, isCurrent }) {
  const members = h("div", { class: "members" });
  const addMember = (role = "ml_engineer", level = "mid") => members.append(h("div", { class: "member row" },
    select("role", MEMBER_ROLES, role, { "aria-label": "Member role" }), select("experience_level", EXPERIENCE_LEVELS, level, { "aria-label": "Experience" }),
    h("button", { type: "button", class: "link", onclick: (e) => e.target.closest(".member").remove() }, "remove")));
  const teamSize = h("input", { name: "team_size", id: "team-size", type: "number", min: 1, max: 500, value: 4, required: true });
  const teamSlider = h("input", { type: "range", min: 1, max: 30, value: 4, "aria-label": "Team size slider" });
  const form = h("form", { class: "grid-form", id: "plan-form" },
    label("Problem class", select("problem_class", PROBLEM_CLASSES, "classification")),
    label("Complexity (1–10)", h("input", { name: "complexity_score", type: "number", min: 1, max: 10, step: 0.5, value: 5, required: true })),
    label("Team size", h("div", { class: "row" }, teamSize, teamSlider)),
    label("Description", h("textarea", { name: "description", rows: 3, placeholder: "What will the project build, from which data?" })),
    h("div", { class: "full" }, h("span", { class: "field-label" }, "Team members (optional)"), members,
      h("button", { type: "button", class: "link", onclick: () => addMember() }, "+ add member")),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Predict")));
  const predictionsEl = h("div", { id: "predictions" }, h("div", { class: "state empty" }, "Describe the project and press Predict."));
  const recsEl = h("div", { id: "plan-recommendations" });
  clear(root, h("div", { class: "page-head" }, h("h1", {}, "Plan a project"),
    h("p", { class: "muted" }, "Predicted success, duration and compute cost, learned from this workspace's completed projects, with the artifacts and team shape that fit.")),
  card("Project profile", form), card("Predicted outcome", predictionsEl), card("Recommendations", recsEl));

  const projectId = query.get("project");
  if (projectId) {
    try {
      const [p, team] = await Promise.all([api(`/v1/projects/${projectId}`), api(`/v1/projects/${projectId}/members`, { query: { limit: 100 } })]);
      form.elements.problem_class.value = p.problem_class;
      form.elements.complexity_score.value = p.complexity_score;
      teamSize.value = teamSlider.value = p.team_size;
      form.elements.description.value = p.description || "";
      team.items.forEach((m) => addMember(m.role, m.experience_level));
    } catch { /* a plain empty form is still useful */ }
  }

  function profile() {
    const v = formValues(form);
    const team = [...members.querySelectorAll(".member")].map((row) => ({
      role: row.querySelector("[name=role]").value, experience_level: row.querySelector("[name=experience_level]").value }));
    return { problem_class: v.problem_class, complexity_score: v.complexity_score, team_size: v.team_size,
             description: v.description, ...(team.length ? { members: team } : {}) };
  }

  let run = 0;
  let predicted = false;
  async function predict({ withRecommendations = true } = {}) {
    const mine = ++run;
    const body = profile();
    predictionsEl.classList.add("updating");
    if (!predicted) clear(predictionsEl, loading("Predicting…"));
    if (withRecommendations) clear(recsEl, loading("Finding artifacts and team shapes…"));
    const recommendations = withRecommendations ? api("/v1/recommendations", { method: "POST", body: { profile: body, limit: 8 } }) : null;
    recommendations?.catch(() => {}); // handled below; a newer run may return before awaiting it
    try {
      const prediction = await api("/v1/predictions", { method: "POST", body: { profile: body } });
      if (mine !== run || !isCurrent()) return;
      predicted = true;
      clear(predictionsEl,
        h("p", { class: "muted small", id: "prediction-basis", "data-basis": prediction.basis }, "Basis: ", badge(prediction.basis, prediction.basis),
          ` · team of ${body.team_size}`),
        prediction.note ? h("p", { class: "muted small" }, prediction.note) : null,
        h("div", { class: "grid three", "data-team-size": String(body.team_size) },
          TARGETS.map(([name, title, format, unit]) => targetCard(name, title, format, unit, prediction.targets?.[name]))));
    } catch (error) {
      if (mine !== run) return;
      predicted = false;
      clear(predictionsEl, errorState(error, () => predict()));
    } finally {
      predictionsEl.classList.remove("updating");
    }
    if (!recommendations) return;
    try {
      const r = await recommendations;
      if (mine !== run || !isCurrent()) return;
      clear(recsEl,
        r.artifacts?.length ? table([
          { label: "Artifact", render: (a) => h("a", { href: `#/artifacts/${a.artifact_id}` }, a.name) },
          { label: "Type", render: (a) => badge(humanize(a.type), "type") },
          { label: "Score", render: (a) => fmt(a.score, 2), numeric: true },
          { label: "Why", render: (a) => h("ul", { class: "reasons" }, (a.reasons || []).map((x) => h("li", {}, typeof x === "string" ? x : x.text || JSON.stringify(x)))) },
        ], r.artifacts, { stack: true }) : h("div", { class: "state empty" }, "No artifact in the library fits this profile yet."),
        r.artifact_ranking?.note ? h("p", { class: "muted small" }, r.artifact_ranking.note) : null,
        r.team ? h("div", { class: "grid two" }, teamBlock("Team as planned", r.team.current), teamBlock("Recommended team", r.team.recommended))
          : r.team_note ? h("p", { class: "muted small" }, `Team shape: ${r.team_note}`) : null,
        r.team?.improvement ? h("p", { class: "muted small", id: "team-improvement" },
          `Recommended over planned: ${fmt(r.team.improvement.success_points, 1)} success points, ${fmt(r.team.improvement.days_saved, 0)} days saved (${fmt(r.team.considered)} shapes considered).`) : null);
    } catch (error) {
      if (mine === run) clear(recsEl, errorState(error, () => predict()));
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); predict(); });
  let timer = null;
  const teamChanged = (source, target) => {
    target.value = source.value;
    if (!predicted) return;
    clearTimeout(timer);
    timer = setTimeout(() => predict(), 350);
  };
  teamSize.addEventListener("input", () => teamChanged(teamSize, teamSlider));
  teamSlider.addEventListener("input", () => teamChanged(teamSlider, teamSize));
  if (projectId) predict();
}
