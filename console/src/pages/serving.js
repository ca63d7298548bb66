// An artifact's aliases (move them, with confirmation) and, for model artifacts, serving: the signature of a served
// version, a "try it" form that sends one prediction, and its monitoring (requests, errors, latency, input drift).
import { api } from "../api.js";
import { chartBox, timeChart } from "../charts.js";
import { badge, clear, counted, dateTime, empty, fmt, h, label, notice, problemText, section, select, table } from "../ui.js";

// A path segment; `@alias` keeps its `@` (legal in a path, and how the API names an alias in place of a version).
const enc = (segment) => encodeURIComponent(segment).replace(/^%40/, "@");

// ---------------------------------------------------------------- aliases
export function aliasesCard(el, artifactId, { readyVersions, onMoved }) {
  const load = () => section(el, async () => {
    const [aliases, versions] = await Promise.all([
      api(`/v1/artifacts/${artifactId}/aliases`, { query: { limit: 100 } }),
      readyVersions(),
    ]);
    return { aliases: aliases.items, versions };
  }, ({ aliases, versions }) => h("div", {},
    aliases.length ? table([
      { label: "Alias", render: (a) => h("code", { class: "alias-name" }, `@${a.alias}`) },
      { label: "Version", render: (a) => h("code", { class: "alias-version", "data-alias": a.alias }, a.version) },
      { label: "Before", render: (a) => a.previous_version || "—" },
      { label: "", render: (a) => (a.protected ? badge("protected", "warning") : "") },
      { label: "Moved", render: (a) => h("span", { class: "muted small" }, `${dateTime(a.updated_at)} by ${a.updated_by}`) },
      { label: "", render: (a) => h("button", { type: "button", class: "secondary small", onclick: () => remove(a) }, "Remove") },
    ], aliases) : empty("No aliases: name a ready version (champion, staging) to use it as @alias."),
    moveForm(aliases, versions)), { isEmpty: () => false });

  function moveForm(aliases, versions) {
    const status = h("div", { id: "alias-status" });
    const form = h("form", { class: "grid-form", id: "alias-form" },
      label("Alias", h("input", { name: "alias", required: true, list: "alias-names", placeholder: "champion",
                                   pattern: "[a-z][a-z0-9]*([_-][a-z0-9]+)*" })),
      h("datalist", { id: "alias-names" }, aliases.map((a) => h("option", { value: a.alias }))),
      label("Version", select("version", versions, versions[0])),
      h("div", {}, h("button", { type: "submit", class: "primary", disabled: !versions.length }, "Move alias")), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const alias = form.elements.alias.value.trim();
      const version = form.elements.version.value;
      const current = aliases.find((a) => a.alias === alias);
      const question = current ? `Move @${alias} from ${current.version} to ${version}? Everything that serves or pulls @${alias} switches within seconds.`
        : `Create @${alias} pointing at ${version}?`;
      if (!window.confirm(question)) return;
      try {
        // If-Match: move only the state this page showed (someone else's move in between answers 412).
        const headers = current ? { "If-Match": `"${current.revision}"` } : {};
        await api(`/v1/artifacts/${artifactId}/aliases/${enc(alias)}`, { method: "PUT", body: { version }, headers });
        await load();
        onMoved?.();
      } catch (error) {
        clear(status, notice("error", problemText(error)));
      }
    });
    return h("div", {}, h("h3", {}, "Move an alias"), form);
  }

  async function remove(alias) {
    if (!window.confirm(`Remove @${alias.alias} (now ${alias.version})? The version stays.`)) return;
    try {
      await api(`/v1/artifacts/${artifactId}/aliases/${enc(alias.alias)}`, { method: "DELETE",
        headers: { "If-Match": `"${alias.revision}"` } });
      await load();
      onMoved?.();
    } catch (error) {
      window.alert(problemText(error));
    }
  }
  return load();
}

// ---------------------------------------------------------------- serving
const shape = (dims) => (dims ? `[${dims.map((d) => (d === null ? "N" : d)).join(", ")}]` : "any");

function exampleInputs(signature) {
  const value = (type) => (type === "string" ? "" : type === "bool" ? false : 0);
  const fill = (dims, type) => (dims.length ? Array.from({ length: dims[0] ?? 1 }, () => fill(dims.slice(1), type)) : value(type));
  return { inputs: Object.fromEntries(signature.inputs.map((i) => [i.name, fill(i.shape || [1], i.type)])) };
}

export function servingCard(el, artifactId, { servableVersions }) {
  return section(el, async () => {
    const versions = await servableVersions();
    const aliases = (await api(`/v1/artifacts/${artifactId}/aliases`, { query: { limit: 100 } })).items;
    return { versions, aliases };
  }, ({ versions, aliases }) => {
    const champion = aliases.find((a) => a.alias === "champion");
    const choices = [...aliases.map((a) => [`@${a.alias}`, `@${a.alias} (${a.version})`]), ...versions.map((v) => [v.version, v.version])];
    const picker = select("served", choices, champion ? "@champion" : choices[0]?.[0], { id: "served-version" });
    const body = h("div", { id: "serving-body" });
    const show = () => renderVersion(body, artifactId, picker.value, versions, aliases);
    picker.addEventListener("change", show);
    show();
    return h("div", {}, label("Version", picker), body);
  }, { emptyText: "No servable version: push an ONNX graph (maestro artifacts push model.pkl --to-onnx --sample rows.csv).",
       isEmpty: (d) => !d.versions.length });
}

function renderVersion(el, artifactId, reference, versions, aliases) {
  const alias = reference.startsWith("@") ? aliases.find((a) => `@${a.alias}` === reference) : null;
  const version = versions.find((v) => v.version === (alias ? alias.version : reference));
  if (!version) { clear(el, empty(`${reference} does not name a servable version.`)); return; }
  const signature = version.signature;
  const output = h("div", { id: "try-output" });
  const request = h("textarea", { name: "request", rows: 6, spellcheck: false, class: "mono" });
  request.value = JSON.stringify(exampleInputs(signature));
  const form = h("form", { class: "grid-form", id: "try-form" }, label("Request body", request),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Predict")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let body;
    try { body = JSON.parse(request.value); } catch (error) { clear(output, notice("error", `Not JSON: ${error.message}`)); return; }
    try {
      const answer = await api(`/v1/artifacts/${artifactId}/versions/${enc(reference)}/predict`, { method: "POST", body });
      clear(output, notice("success", `Version ${answer.model_version} answered in ${fmt(answer.latency_ms)} ms`),
        h("pre", { class: "json-out" }, JSON.stringify(answer.outputs, null, 1)));
    } catch (error) {
      clear(output, notice("error", error.message || problemText(error)));
    }
    loadStats(); // the request is in today's counts
  });
  const stats = h("div", { id: "serving-stats" });
  clear(el,
    h("h3", {}, `Signature of ${version.version}`),
    table([
      { label: "", render: (t) => t.kind },
      { label: "Name", render: (t) => h("code", {}, t.name) },
      { label: "Type", render: (t) => t.type },
      { label: "Shape", render: (t) => shape(t.shape) },
    ], [...signature.inputs.map((t) => ({ ...t, kind: "input" })), ...signature.outputs.map((t) => ({ ...t, kind: "output" }))]),
    signature.feature_names ? h("p", { class: "small muted" }, `Features: ${signature.feature_names.join(", ")}`) : null,
    h("h3", {}, "Try it"), form, output,
    h("h3", {}, "Last 14 days"), stats);
  const loadStats = () => section(stats, () => api(`/v1/artifacts/${artifactId}/versions/${enc(version.version)}/serving`,
    { query: { days: 14 } }), (view) => servingCharts(view), { isEmpty: () => false });
  loadStats();
}

function servingCharts(view) {
  const traffic = chartBox(200);
  const latency = chartBox(200);
  const labels = view.daily.map((d) => d.day);
  queueMicrotask(() => {
    traffic.canvas.id = "serving-traffic";
    latency.canvas.id = "serving-latency";
    timeChart(traffic.canvas, { type: "bar", labels, yTitle: "requests", datasets: [
      { label: "requests", data: view.daily.map((d) => d.requests) },
      { label: "errors", data: view.daily.map((d) => d.errors) }] });
    timeChart(latency.canvas, { labels, yTitle: "ms", datasets: [
      { label: "p50", data: view.daily.map((d) => d.latency_ms.p50) },
      { label: "p95", data: view.daily.map((d) => d.latency_ms.p95) }] });
  });
  const drift = view.drift;
  const features = Object.entries(view.inputs);
  return h("div", {},
    h("p", { class: "small" }, `${counted(view.requests, "request")} · ${counted(view.errors, "error")} · latency p50 ${fmt(view.latency_ms.p50)} ms, p95 ${fmt(view.latency_ms.p95)} ms`),
    h("div", { class: "grid two" }, traffic.box, latency.box),
    h("h3", {}, "Inputs and drift"),
    drift.reference ? h("p", { class: "small muted" }, `Kolmogorov-Smirnov against the ${drift.reference.source}`,
      drift.reference.artifact_id ? h("a", { href: `#/artifacts/${drift.reference.artifact_id}` }, ` ${drift.reference.version}`) : "",
      ` (alpha ${drift.alpha})`) : h("p", { class: "small muted" }, drift.reason || "No reference."),
    features.length ? table([
      { label: "Feature", render: ([name]) => h("code", {}, name) },
      { label: "Count", render: ([, s]) => fmt(s.count), numeric: true },
      { label: "Mean", render: ([, s]) => fmt(s.mean), numeric: true },
      { label: "Std", render: ([, s]) => fmt(s.std), numeric: true },
      { label: "p05 / p50 / p95", render: ([, s]) => `${fmt(s.p05)} / ${fmt(s.p50)} / ${fmt(s.p95)}` },
      { label: "KS", render: ([name]) => (drift.features[name] ? `${fmt(drift.features[name].statistic, 3)} (> ${fmt(drift.features[name].threshold, 3)}?)` : "—"), numeric: true },
      { label: "Drift", render: ([name]) => (drift.features[name] ? h("span", { class: "drift", "data-feature": name },
        drift.features[name].drifted ? badge("drifted", "rejected") : badge("stable", "ready")) : "—") },
    ], features) : empty("No requests in the window yet."));
}
