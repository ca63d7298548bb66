// The console's build: copy the ES-module sources and the pinned Chart.js (npm ci) into dist/. No bundler: the
// browser loads src/ as native modules. `config.json` names the API; the local console server answers its own,
// and a deployment to S3 writes one beside index.html (MAESTRO_CONSOLE_API_URL at build time sets the default).
import { cpSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const chart = join(here, "node_modules", "chart.js", "dist", "chart.umd.min.js");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "vendor"), { recursive: true });
cpSync(join(here, "src"), dist, { recursive: true });
cpSync(chart, join(dist, "vendor", "chart.umd.min.js"));
const apiBaseUrl = process.env.MAESTRO_CONSOLE_API_URL || "http://127.0.0.1:8000";
writeFileSync(join(dist, "config.json"), JSON.stringify({ api_base_url: apiBaseUrl }, null, 2) + "\n");
// Subresource integrity for the vendored library, so a tampered copy on the bucket does not run.
const sri = "sha384-" + createHash("sha384").update(readFileSync(chart)).digest("base64");
const index = join(dist, "index.html");
writeFileSync(index, readFileSync(index, "utf8").replace("__CHART_SRI__", sri));
console.log(`console built into ${dist} (api_base_url default ${apiBaseUrl})`);
