// The outcome models: each target's champion (hold-out figures against baselines, training date, data size), its
// live accuracy on projects that have since completed, the training history, and retraining on request.
import { api, currentUser } from "../api.js";
import { chartBox, timeChart } from "../charts.js";
import { badge, card, clear, counted, date, dateTime, empty, fmt, h, humanize, notice, pct, problemText, section, table } from "../ui.js";

const TARGET_TITLES = { success_score: "Success score", duration_days: "Duration (days)", compute_cost_usd: "Compute cost (USD)" };

const BASELINE_TITLES = { tenant_mean: "Tenant mean", ridge: "Ridge" };

// The champion beside its baselines, each measured on the same hold-out projects: the figures a reader compares,
// not a list of dotted names (the baselines' cross-validation figures stay in the API's answer and in MLflow).
function comparisonTable(champion) {
  const rows = [{ name: "This model", mae: champion.holdout?.mae, r2: champion.holdout?.r2 },
    ...Object.entries(champion.baselines || {}).map(([name, figures]) => ({ name: BASELINE_TITLES[name] || humanize(name),
      mae: figures.holdout_mae, r2: figures.holdout_r2 }))];
  return table([
    { label: `On ${champion.holdout_projects ? counted(champion.holdout_projects, "hold-out project") : "the hold-out projects"}`, render: (r) => r.name },
    { label: "MAE", render: (r) => fmt(r.mae, 3), numeric: true },
    { label: "R²", render: (r) => fmt(r.r2, 3), numeric: true },
  ], rows);
}

// How often the 80% and 90% intervals held the true outcome on the hold-out projects, with the standard error.
function coverageLine(champion) {
  const levels = Object.keys(champion.coverage || {});
  if (!levels.length) return null;
  const error = champion.coverage_standard_error || {};
  return h("p", { class: "small coverage" }, "Intervals held the outcome: " + levels.map((level) =>
    `${level}% interval ${pct(champion.coverage[level])}${error[level] != null ? ` ± ${pct(error[level])}` : ""}`).join(" · "));
}

function liveAccuracy(live) {
  if (!live?.scored_predictions) return empty("No prediction of this model has met a completed project yet.");
  return table([
    { label: "Scored predictions", key: "scored_predictions", numeric: true },
    { label: "MAE", render: (r) => fmt(r.mae, 3), numeric: true },
    { label: "80% held", render: (r) => pct(r.coverage_80), numeric: true },
    { label: "90% held", render: (r) => pct(r.coverage_90), numeric: true },
  ], [live]);
}

function recommenderCard(recommender) {
  const validation = recommender.validation || {};
  const weights = Object.entries(validation.weights || {});
  return card("Artifact recommender",
    h("p", {}, `Version ${recommender.version} · trained ${dateTime(recommender.trained_at)} on ${counted(recommender.data_size, "project")}`),
    validation.ndcg_at_10 != null ? h("p", { class: "recommender-validation" }, `nDCG@10 ${fmt(validation.ndcg_at_10, 3)} on ` +
      `${counted(validation.validation_projects, "later project")} (fitted on the ${fmt(validation.fit_projects)} before them), ` +
      `against ${fmt(validation.most_popular_ndcg_at_10, 3)} for recommending the most used artifacts.`)
      : empty("No validation figures recorded."),
    weights.length ? h("p", { class: "small muted" }, "Blend: " + weights.map(([name, value]) => `${humanize(name)} ${fmt(value)}`).join(" · ")) : null);
}

// Both shapes: one model ({champion, history, live}) or one per target ({targets: {name: {champion, history}}}).
function targetsOf(meta) {
  if (meta.targets) return Object.entries(meta.targets).map(([name, t]) => ({ name, ...t, live: t.live ?? t.champion?.live }));
  return [{ name: "model", champion: meta.champion, history: meta.history || [], live: meta.live }];
}

// The retrain job's champion decision in words ({moved, reason, challenger_holdout_mae, champion_holdout_mae, …}).
export function decisionText(decision) {
  if (!decision) return "—";
  if (typeof decision === "string") return h("span", { class: "decision" }, decision);
  const verdict = decision.moved === true ? "Became champion" : decision.moved === false ? "Kept the champion" : "";
  const maes = decision.challenger_holdout_mae != null ? `hold-out MAE ${fmt(decision.challenger_holdout_mae, 3)}` +
    (decision.champion_holdout_mae != null ? ` vs ${fmt(decision.champion_holdout_mae, 3)}` : "") +
    (decision.holdout_projects ? ` on ${decision.holdout_projects} projects` : "") : "";
  const said = [verdict, decision.reason].filter(Boolean).join(": ");
  return h("span", { class: "decision" }, maes ? `${said} (${maes})` : said);
}

function targetPanel(target, minimum) {
  const c = target.champion;
  const history = target.history || [];
  const el = card(TARGET_TITLES[target.name] || humanize(target.name));
  el.dataset.target = target.name;
  if (!c) {
    el.append(empty(`No model trained yet${minimum ? `: it needs ${minimum} completed projects with outcomes` : ""}. Predictions use this workspace's outcome statistics until then.`));
  } else {
    el.append(h("p", {}, h("strong", {}, `Champion ${c.version}`), ` · trained ${dateTime(c.trained_at)} on ${fmt(c.data_size)} projects`),
      c.selected ? h("p", { class: "small selected-model" }, h("span", { class: "muted" }, "Model: "),
        typeof c.selected === "string" ? c.selected : "selected") : null,
      comparisonTable(c), coverageLine(c));
    el.append(h("h3", {}, "Live accuracy"), liveAccuracy(target.live));
  }
  if (history.length) {
    const { box, canvas } = chartBox(200);
    el.append(h("h3", {}, "Training history"), box, table([
      { label: "Version", render: (v) => h("span", {}, v.version, v.is_champion ? badge("champion", "model") : "") },
      { label: "Trained", render: (v) => date(v.trained_at) },
      { label: "Projects", key: "data_size", numeric: true },
      { label: "Decision", render: (v) => decisionText(v.decision) },
    ], history));
    // hold-out MAE only: R² lives on another scale and would flatten it
    const oldestFirst = [...history].reverse();
    queueMicrotask(() => timeChart(canvas, { labels: oldestFirst.map((v) => v.version || date(v.trained_at)),
      datasets: [{ label: "hold-out MAE", data: oldestFirst.map((v) => v.holdout?.mae ?? null) }] }));
  } else {
    el.append(h("h3", {}, "Training history"), empty("No training runs yet."));
  }
  return el;
}

export async function render(root) {
  const body = h("div", { id: "models" });
  const retrainMessage = h("div", { id: "retrain" });
  const admin = currentUser()?.role === "admin";
  const retrain = h("button", { type: "button", class: "secondary", hidden: !admin, onclick: async () => {
    retrain.disabled = true;
    try {
      let job = await api("/v1/models/meta/retrain", { method: "POST" });
      clear(retrainMessage, notice("info", `Retraining (${job.id}): ${job.state}…`));
      // a retrain on a few hundred projects takes minutes: follow it for up to 20 minutes, then say it still runs
      const until = Date.now() + 20 * 60e3;
      while (["queued", "running"].includes(job.state) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        try { job = await api(`/v1/models/meta/jobs/${job.id}`); } catch { break; }
        clear(retrainMessage, notice("info", `Retraining (${job.id}): ${job.state}${job.progress ? ` ${Math.round(job.progress * 100)}%` : ""}…`));
      }
      const finished = ["succeeded", "failed"].includes(job.state);
      clear(retrainMessage, notice(job.state === "failed" ? "error" : finished ? "success" : "info",
        finished ? `Retraining ${job.id}: ${job.state}.` : `Retraining ${job.id} is still ${job.state}; reload this page later.`));
      if (job.state === "succeeded") load();
    } catch (error) {
      clear(retrainMessage, notice("error", error.unavailable ? "Retraining is not available on this deployment yet." : problemText(error)));
    } finally { retrain.disabled = false; }
  } }, "Retrain now");
  clear(root, h("div", { class: "page-head row spread" }, h("div", {}, h("h1", {}, "Outcome models"),
    h("p", { class: "muted" }, "The models that predict project outcomes from this workspace's history.")), retrain), retrainMessage, body);

  const load = () => section(body, () => api("/v1/models/meta"), (meta) => h("div", {},
    h("p", {}, "Basis: ", badge(meta.basis || "model", meta.basis || "model"),
      meta.basis === "prior" ? h("span", { class: "muted" }, ` — fewer than ${meta.min_completed_projects ?? "enough"} completed projects: predictions are this workspace's outcome statistics.`) : null),
    h("div", { class: "grid three" }, targetsOf(meta).map((t) => targetPanel(t, meta.min_completed_projects))),
    meta.recommender ? recommenderCard(meta.recommender) : null));
  await load();
}
