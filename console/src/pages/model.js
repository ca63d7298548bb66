// The outcome models: each target's champion (hold-out figures against baselines, training date, data size), its
// live accuracy on projects that have since completed, the training history, and retraining on request.
import { api, currentUser } from "../api.js";
import { chartBox, timeChart } from "../charts.js";
import { badge, card, clear, date, dateTime, empty, fmt, h, humanize, notice, problemText, section, table } from "../ui.js";

const TARGET_TITLES = { success_score: "Success score", duration_days: "Duration (days)", compute_cost_usd: "Compute cost (USD)" };

// Nested figures ({holdout: {mae: 3, coverage: {"80": 0.8}}}) as rows of dotted names.
function flatten(value, prefix = "", out = {}) {
  if (typeof value === "number") out[prefix] = value;
  else if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

const figuresTable = (figures) => {
  const rows = Object.entries(flatten(figures)).map(([name, value]) => ({ name, value }));
  return rows.length ? table([{ label: "Figure", render: (r) => humanize(r.name) }, { label: "Value", render: (r) => fmt(r.value, 3), numeric: true }], rows)
    : empty("No figures recorded.");
};

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
  const figures = c ? (c.metrics ?? { holdout: c.holdout, baselines: c.baselines, coverage: c.coverage,
    coverage_standard_error: c.coverage_standard_error }) : null;
  const history = target.history || [];
  const el = card(TARGET_TITLES[target.name] || humanize(target.name));
  el.dataset.target = target.name;
  if (!c) {
    el.append(empty(`No model trained yet${minimum ? `: it needs ${minimum} completed projects with outcomes` : ""}. Predictions use this workspace's outcome statistics until then.`));
  } else {
    el.append(h("p", {}, h("strong", {}, `Champion ${c.version}`), ` · trained ${dateTime(c.trained_at)} on ${fmt(c.data_size)} projects`),
      c.selected ? h("p", { class: "small selected-model" }, h("span", { class: "muted" }, "Model: "),
        typeof c.selected === "string" ? c.selected : "selected") : null,
      figuresTable(figures));
    el.append(h("h3", {}, "Live accuracy"), target.live && Object.keys(flatten(target.live)).length ? figuresTable(target.live)
      : empty("No prediction of this model has met a completed project yet."));
  }
  if (history.length) {
    const rows = history.map((v) => ({ ...v, flat: flatten(v.holdout ?? v.metrics ?? {}) }));
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r.flat)))].slice(0, 5);
    const { box, canvas } = chartBox(200);
    el.append(h("h3", {}, "Training history"), box, table([
      { label: "Version", render: (v) => h("span", {}, v.version, v.is_champion ? badge("champion", "model") : "") },
      { label: "Trained", render: (v) => date(v.trained_at) },
      { label: "Projects", key: "data_size", numeric: true },
      { label: "Decision", render: (v) => decisionText(v.decision) },
    ], rows));
    queueMicrotask(() => timeChart(canvas, { labels: [...rows].reverse().map((r) => r.version || date(r.trained_at)),
      datasets: keys.map((k) => ({ label: humanize(k), data: [...rows].reverse().map((r) => r.flat[k] ?? null) })) }));
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
    meta.recommender ? card("Artifact recommender", h("p", {}, `Version ${meta.recommender.version} · trained ${dateTime(meta.recommender.trained_at)} on ${fmt(meta.recommender.data_size)} rows`),
      figuresTable(meta.recommender.validation)) : null));
  await load();
}
