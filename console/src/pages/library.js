// The artifact library: search in keyword, semantic or hybrid mode, filters, impact with its interval.
import { api } from "../api.js";
import { badge, card, clear, counted, fmt, formValues, h, humanize, label, notice, pagedList, problemText, select, table } from "../ui.js";
import { ARTIFACT_TYPES } from "./common.js";

export function impactCell(item) {
  const impact = item.impact;
  const score = impact?.score ?? item.impact_score;
  if (score === null || score === undefined) return "—";
  const interval = impact?.interval;
  return h("span", { class: "impact", title: impact?.explanation || "" },
    h("strong", {}, fmt(score, 1)),
    interval ? h("span", { class: "interval" }, ` [${fmt(interval.low, 1)}–${fmt(interval.high, 1)}]`) : null,
    impact?.method ? h("span", { class: "muted small" }, ` ${humanize(impact.method)}`) : null);
}

// Semantic ranking off (no model) or incomplete (some artifacts not embedded yet): the results say so.
function degradedNotice(page) {
  if (!page?.degraded) return null;
  return page.not_embedded ? notice("warning", `Semantic ranking is incomplete: ${page.degraded}.`)
    : notice("warning", `Semantic ranking is off here: ${page.degraded}. Results are keyword-ranked.`);
}

export async function render(root, { query, navigate }) {
  const results = h("div", { id: "search-results" });
  const form = h("form", { class: "search", id: "search-form", role: "search" },
    h("input", { name: "query", type: "search", placeholder: "Search artifacts: churn features, image augmentation…",
                 value: query.get("q") || "", "aria-label": "Search query" }),
    select("mode", [["hybrid", "Hybrid"], ["keyword", "Keyword"], ["semantic", "Semantic"]], query.get("mode") || "hybrid",
           { "aria-label": "Search mode" }),
    select("type", [["", "All types"], ...ARTIFACT_TYPES.map((t) => [t, humanize(t)])], "", { "aria-label": "Type" }),
    h("input", { name: "tags", placeholder: "tags, comma-separated", "aria-label": "Tags" }),
    h("input", { name: "min_impact_score", type: "number", min: 0, max: 100, step: 1, placeholder: "min impact",
                 "aria-label": "Minimum impact score" }),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "include_deprecated" }), "deprecated"),
    h("button", { type: "submit", class: "primary" }, "Search"));

  let lastQuery = "";
  let firstPage = null;
  const paged = pagedList(results, (cursor) => {
    const v = formValues(form);
    lastQuery = v.query;
    return api("/v1/artifacts/search", { method: "POST", body: {
      mode: v.query ? v.mode : undefined, query: v.query || undefined, type: v.type || undefined,
      tags: v.tags ? v.tags.split(",").map((t) => t.trim()).filter(Boolean) : [],
      min_impact_score: v.min_impact_score ?? undefined, include_deprecated: v.include_deprecated, limit: 50, cursor: cursor || undefined } })
      .then((page) => { if (!cursor) firstPage = page; return page; });
  }, (items) => h("div", {},
    degradedNotice(firstPage),
    h("p", { class: "muted small" }, counted(firstPage?.total ?? items.length, "artifact"), firstPage?.mode ? ` · ${firstPage.mode} search` : ""),
    table([
      { label: "Name", render: (a) => h("a", { href: `#/artifacts/${a.id}`, class: "artifact-link" }, a.name) },
      { label: "Type", render: (a) => badge(humanize(a.type), "type") },
      { label: "Tags", render: (a) => a.tags.map((t) => badge(t, "tag")) },
      { label: "Impact [interval]", render: impactCell },
      { label: "Used", key: "usage_count", numeric: true },
      { label: "Latest", render: (a) => a.latest_version || "—" },
      { label: "Match", render: (a) => (a.score !== undefined ? h("span", {}, fmt(a.score, 3), " ",
        a.name_match ? badge("name", "found") : null, (a.found_by || []).map((f) => badge(f, "found"))) : "—") },
    ], items, { stack: true, rowAttrs: (a) => ({ class: a.deprecated ? "deprecated result" : "result", "data-id": a.id }) })),
  { emptyText: "No artifact matches.", noun: "artifacts" });
  const search = async () => {
    await paged.reload();
    // an empty answer says what was asked, or that the library is empty
    const none = results.querySelector(".paged-body > .state.empty");
    if (none) {
      none.textContent = lastQuery ? `No artifact matches “${lastQuery}”.` : "No artifact matches these filters (or the library is empty: add the first artifact).";
      const degraded = degradedNotice(firstPage);
      if (degraded) none.before(degraded);
    }
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); search(); });

  const createMessage = h("div");
  const createForm = h("form", { class: "grid-form", id: "create-artifact" },
    label("Name", h("input", { name: "name", required: true, maxlength: 200 })),
    label("Type", select("type", ARTIFACT_TYPES, "feature_pipeline")),
    label("Tags", h("input", { name: "tags", placeholder: "comma-separated" })),
    label("Description", h("textarea", { name: "description", rows: 2 })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Add artifact")), createMessage);
  createForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(createForm);
    try {
      const created = await api("/v1/artifacts", { method: "POST", body: { name: v.name, type: v.type, description: v.description,
        tags: v.tags ? v.tags.split(",").map((t) => t.trim()).filter(Boolean) : [] } });
      navigate(`/artifacts/${created.id}`);
    } catch (error) {
      clear(createMessage, notice("error", problemText(error)));
    }
  });

  clear(root,
    h("div", { class: "page-head" }, h("h1", {}, "Artifact library"),
      h("p", { class: "muted" }, "Reusable feature pipelines, model templates, schemas, notebooks, datasets and models, ranked by their measured impact on project success.")),
    card(null, form, results),
    h("details", { class: "card" }, h("summary", {}, "Add an artifact"), createForm));
  await search();
}
