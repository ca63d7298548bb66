// One artifact: versions with their status, download, upload of a new version, lineage graph, usage over time.
import { api } from "../api.js";
import { barChart, chartBox } from "../charts.js";
import { badge, card, clear, counted, date, dateTime, empty, fmt, formValues, h, humanize, label, notice, problemText, section, table } from "../ui.js";
import { impactCell } from "./library.js";
import { aliasesCard, servingCard } from "./serving.js";

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => el.setAttribute(k, v));
  children.forEach((c) => el.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return el;
};

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function nextVersion(latest) {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(latest || "");
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : "1.0.0";
}

// Columns by distance: upstream to the left, downstream to the right, this artifact in the middle.
export function lineageGraph(lineage, artifact, navigate) {
  const columns = new Map([[0, [{ artifact_id: artifact.id, name: artifact.name, type: artifact.type, version: artifact.latest_version, self: true }]]]);
  for (const node of lineage.upstream) (columns.get(-node.depth) || columns.set(-node.depth, []).get(-node.depth)).push(node);
  for (const node of lineage.downstream) (columns.get(node.depth) || columns.set(node.depth, []).get(node.depth)).push(node);
  const keys = [...columns.keys()].sort((a, b) => a - b);
  const W = 190, H = 54, GX = 70, GY = 18;
  const tallest = Math.max(...keys.map((k) => columns.get(k).length));
  const width = keys.length * W + (keys.length - 1) * GX + 20;
  const height = tallest * H + (tallest - 1) * GY + 20;
  const pos = new Map();
  keys.forEach((k, ci) => {
    const nodes = columns.get(k);
    const offset = (height - (nodes.length * H + (nodes.length - 1) * GY)) / 2;
    nodes.forEach((n, i) => pos.set(n, { x: 10 + ci * (W + GX), y: offset + i * (H + GY), k, i }));
  });
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "lineage", role: "img",
                            "aria-label": "Lineage graph" });
  root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#868e96" }))));
  // An edge from each node to the neighbouring column nearer the centre (the API reports distance, not edges).
  for (const [node, p] of pos) {
    if (p.k === 0) continue;
    const inner = columns.get(p.k < 0 ? p.k + 1 : p.k - 1);
    const target = pos.get(inner[Math.min(p.i, inner.length - 1)]);
    const [from, to] = p.k < 0 ? [p, target] : [target, p];
    root.append(svg("path", { d: `M ${from.x + W} ${from.y + H / 2} C ${from.x + W + GX / 2} ${from.y + H / 2}, ${to.x - GX / 2} ${to.y + H / 2}, ${to.x} ${to.y + H / 2}`,
                              class: "edge", "marker-end": "url(#arrow)" }));
  }
  for (const [node, p] of pos) {
    const g = svg("g", { class: `node${node.self ? " self" : ""}`, transform: `translate(${p.x},${p.y})`, tabindex: node.self ? -1 : 0 },
      svg("rect", { width: W, height: H, rx: 8 }),
      svg("text", { x: 10, y: 22, class: "name" }, node.name.length > 22 ? `${node.name.slice(0, 21)}…` : node.name),
      svg("text", { x: 10, y: 40, class: "meta" }, `${humanize(node.type)}${node.version ? ` · ${node.version}` : ""}`));
    if (!node.self) g.addEventListener("click", () => navigate(`/artifacts/${node.artifact_id}`));
    root.append(g);
  }
  return h("div", { class: "lineage-wrap" }, root,
    lineage.truncated ? h("p", { class: "muted small" }, "Deeper lineage exists; showing the nearest levels.") : null);
}

export async function render(root, { params, navigate }) {
  const [artifactId] = params;
  const head = h("div", { class: "page-head" });
  const impactEl = h("div");
  const versionsEl = h("div", { id: "versions" });
  const uploadEl = h("div");
  const lineageEl = h("div", { id: "lineage" });
  const usageEl = h("div", { id: "usage" });
  const aliasesEl = h("div", { id: "aliases" });
  const servingEl = h("div", { id: "serving" });
  clear(root, head,
    h("div", { class: "grid two" }, card("Impact", impactEl), card("Usage over time", usageEl)),
    card("Versions", versionsEl, uploadEl),
    card("Aliases", aliasesEl),
    card("Serving", servingEl),
    card("Lineage", lineageEl));

  const artifact = await section(head, () => api(`/v1/artifacts/${artifactId}`), (a) => h("div", {},
    h("p", { class: "crumbs" }, h("a", { href: "#/library" }, "Library"), " / ", humanize(a.type)),
    h("h1", {}, a.name, " ", badge(humanize(a.type), "type")),
    a.deprecated ? notice("warning", `Deprecated: ${a.deprecated.reason}`,
      a.deprecated.replacement_id ? h("a", { href: `#/artifacts/${a.deprecated.replacement_id}` }, " → replacement") : "") : null,
    h("p", {}, a.description || h("span", { class: "muted" }, "No description.")),
    h("p", {}, a.tags.map((t) => badge(t, "tag")), h("span", { class: "muted small" }, ` Owner ${a.owner || "—"} · created ${date(a.created_at)}`))));
  if (!artifact) return;

  // A parent version is shown by its artifact's name ("customer-events-schema 1.0.0"), or as this artifact's own
  // earlier version; a bare "1.0.0" read as derived from itself.
  async function parentNames(items) {
    const ids = [...new Set(items.flatMap((v) => (v.derived_from || []).map((p) => p.artifact_id)))].filter((id) => id !== artifactId);
    const found = await Promise.all(ids.map((id) => api(`/v1/artifacts/${id}`).then((a) => [id, a.name], () => [id, id])));
    return new Map(found);
  }
  const parentLabel = (names, p) => (p.artifact_id === artifactId ? `this artifact ${p.version}` : `${names.get(p.artifact_id) || p.artifact_id} ${p.version}`);

  const loadVersions = () => section(versionsEl, async () => {
    const page = await api(`/v1/artifacts/${artifactId}/versions`, { query: { limit: 100 } });
    return { ...page, names: await parentNames(page.items) };
  },
    (page) => table([
      { label: "Version", render: (v) => h("code", {}, v.version) },
      { label: "Status", render: (v) => h("span", { class: "version-status", "data-version": v.version }, badge(v.status), v.status_reason ? h("span", { class: "muted small" }, ` ${v.status_reason}`) : null) },
      { label: "Integrity", render: (v) => (v.integrity ? badge(v.integrity) : "—") },
      { label: "Size", render: (v) => `${fmt(v.size_bytes)} B`, numeric: true },
      { label: "SHA-256", render: (v) => h("code", { title: v.sha256 }, v.sha256.slice(0, 12)) },
      { label: "Derived from", render: (v) => (v.derived_from || []).flatMap((p, i) => [i ? ", " : null,
        h("a", { class: "derived-from", href: `#/artifacts/${p.artifact_id}` }, parentLabel(page.names, p))]) },
      { label: "Created", render: (v) => dateTime(v.created_at) },
      { label: "", render: (v) => (v.status === "ready" ? h("button", { type: "button", class: "secondary small", onclick: (e) => download(v, e.target) }, "Download") : "") },
    ], [...page.items].reverse()), { emptyText: "No versions yet: upload the first one below." });

  async function download(version, button) {
    button.disabled = true;
    try {
      const link = await api(`/v1/artifacts/${artifactId}/versions/${encodeURIComponent(version.version)}/download`);
      const a = h("a", { href: link.url, download: `${artifact.name}-${version.version}`, rel: "noopener" });
      document.body.append(a); a.click(); a.remove();
    } catch (error) {
      alert(problemText(error));
    } finally {
      button.disabled = false;
    }
  }

  // Upload: hash in the browser, declare the version, PUT the bytes to the presigned URL, ask for verification.
  const progress = h("div", { class: "upload-progress", id: "upload-progress" });
  const form = h("form", { class: "grid-form", id: "upload-form" },
    label("Version (SemVer)", h("input", { name: "version", required: true, value: nextVersion(artifact.latest_version) })),
    label("File", h("input", { name: "file", type: "file", required: true })),
    label("Notes", h("input", { name: "description", placeholder: "what changed" })),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Upload version")), progress);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = form.elements.file.files[0];
    const v = formValues(form);
    if (!file) { clear(progress, notice("error", "Choose a file.")); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const step = (text) => clear(progress, h("span", { class: "muted" }, text));
    try {
      step("Hashing…");
      const bytes = await file.arrayBuffer();
      const sha256 = await sha256Hex(bytes);
      step("Declaring the version…");
      const declared = await api(`/v1/artifacts/${artifactId}/versions`, { method: "POST", body: {
        version: v.version, description: v.description, size_bytes: file.size, sha256,
        content_type: file.type || "application/octet-stream" } });
      step("Uploading…");
      const headers = { ...declared.upload.headers };
      delete headers["Content-Length"]; // the browser sets it (a forbidden header for scripts), to the same value
      const put = await fetch(declared.upload.url, { method: declared.upload.method || "PUT", headers, body: bytes });
      if (!put.ok) throw new Error(`the storage refused the upload (HTTP ${put.status})`);
      step("Verifying…");
      const done = await api(`/v1/artifacts/${artifactId}/versions/${encodeURIComponent(v.version)}/complete`, { method: "POST", full: true });
      const status = done.data.status;
      clear(progress, notice(status === "ready" ? "success" : status === "rejected" ? "error" : "info",
        `Version ${v.version}: ${status}${done.data.status_reason ? ` (${done.data.status_reason})` : ""}`,
        done.status === 202 ? " — large file: verification finishes in the background." : ""));
      form.elements.version.value = nextVersion(v.version);
      form.elements.file.value = "";
      await loadVersions();
      loadLineage();
    } catch (error) {
      clear(progress, notice("error", error.status !== undefined ? problemText(error) : String(error.message || error)));
    } finally {
      button.disabled = false;
    }
  });
  clear(uploadEl, h("h3", {}, "Upload a new version"), form);

  const loadLineage = () => section(lineageEl, () => api(`/v1/artifacts/${artifactId}/lineage`, { query: { depth: 3 } }),
    (lineage) => lineageGraph(lineage, artifact, navigate),
    { emptyText: "No lineage: no version derives from another artifact, and none derives from this one.",
      isEmpty: (l) => !l.upstream.length && !l.downstream.length });

  const allVersions = () => api(`/v1/artifacts/${artifactId}/versions`, { query: { limit: 100 } }).then((p) => p.items);
  const readyVersions = () => allVersions().then((items) => items.filter((v) => v.status === "ready").map((v) => v.version).reverse());
  const servableVersions = () => allVersions().then((items) => items.filter((v) => v.signature).reverse());
  const loadServing = () => (artifact.type === "model" ? servingCard(servingEl, artifactId, { servableVersions })
    : clear(servingEl, h("p", { class: "muted small" }, "Only model artifacts whose versions are ONNX graphs are served.")));

  await Promise.all([
    loadVersions(),
    loadLineage(),
    aliasesCard(aliasesEl, artifactId, { readyVersions, onMoved: loadServing }),
    loadServing(),
    section(impactEl, () => api(`/v1/artifacts/${artifactId}/analytics`), (a) => h("div", {},
      h("div", { class: "big-number" }, impactCell(a)),
      h("p", { class: "muted small" }, a.impact?.explanation || ""),
      a.impact?.interval ? h("p", { class: "small" }, `${Math.round((a.impact.interval.confidence || 0.9) * 100)}% interval ${fmt(a.impact.interval.low, 1)}–${fmt(a.impact.interval.high, 1)}`,
        a.impact.effect ? ` · effect ${fmt(a.impact.effect.success_points, 2)} success points` : "") : null,
      h("p", { class: "small" }, `${counted(a.usage_count, "usage")} in ${counted(a.project_count, "project")} · ${counted(a.distinct_people, "person", "people")}`),
      a.projects.length ? table([
        { label: "Project", render: (p) => h("a", { href: `#/projects/${p.id}` }, p.name) },
        { label: "Status", render: (p) => badge(p.status) },
        { label: "Success", key: "success_score", numeric: true },
      ], a.projects) : empty("No project has used it yet."))),
    section(usageEl, () => api(`/v1/artifacts/${artifactId}/analytics`).then((a) => a.usage_over_time || []), (points) => {
      const { box, canvas } = chartBox(200);
      queueMicrotask(() => barChart(canvas, { labels: points.map((p) => p.period), values: points.map((p) => p.usages), label: "usages" }));
      return box;
    }, { emptyText: "Not used by any project yet." }),
  ]);
}
