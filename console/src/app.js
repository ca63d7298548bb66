// The shell: configuration, session restore, and a hash router (hash URLs need no rewrite rules on S3).
import { ApiError, currentUser, hasSession, loadConfig, loadMe, logout, onSessionChange } from "./api.js";
import { destroyCharts } from "./charts.js";
import { clear, errorState, h, loading } from "./ui.js";
import * as loginPage from "./pages/login.js";
import * as libraryPage from "./pages/library.js";
import * as artifactPage from "./pages/artifact.js";
import * as projectsPage from "./pages/projects.js";
import * as projectPage from "./pages/project.js";
import * as planPage from "./pages/plan.js";
import * as modelPage from "./pages/model.js";
import * as adminPage from "./pages/admin.js";

const ROUTES = [
  [/^\/login$/, loginPage, "login", { open: true }],
  [/^\/library$/, libraryPage, "library"],
  [/^\/artifacts\/([^/]+)$/, artifactPage, "library"],
  [/^\/projects$/, projectsPage, "projects"],
  [/^\/projects\/([^/]+)$/, projectPage, "projects"],
  [/^\/plan$/, planPage, "plan"],
  [/^\/model$/, modelPage, "model"],
  [/^\/admin$/, adminPage, "admin"],
];

const main = document.getElementById("main");
let generation = 0;

export function navigate(path) { location.hash = `#${path}`; }

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/library", query: new URLSearchParams(query) };
}

async function route() {
  const { path, query } = parseHash();
  const match = ROUTES.find(([pattern]) => pattern.test(path));
  destroyCharts();
  if (!match) { navigate("/library"); return; }
  const [pattern, page, nav, options = {}] = match;
  if (!options.open && !currentUser()) {
    const next = `/login?next=${encodeURIComponent(location.hash.replace(/^#/, ""))}`;
    if (!hasSession()) { navigate(next); return; }
    clear(main, loading("Restoring your session…"));
    try { await loadMe(); } catch { navigate(next); return; }
  }
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
  setMenuOpen(false);
  const mine = ++generation;
  const root = h("div", { class: "page", "data-page": nav });
  clear(main, root);
  try {
    await page.render(root, { params: path.match(pattern).slice(1).map(decodeURIComponent), query,
                              isCurrent: () => mine === generation, navigate, reload: route });
  } catch (error) {
    if (mine === generation) clear(root, errorState(error instanceof ApiError ? error : { message: String(error) }));
  }
}

// On a narrow screen the nav folds behind a menu button (styles.css); each navigation folds it again.
function setMenuOpen(open) {
  document.getElementById("topbar").classList.toggle("menu-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
}

function renderSession(me) {
  const topbar = document.getElementById("topbar");
  topbar.hidden = !me;
  if (!me) return;
  const who = me.user ? `${me.user.name} · ${me.role}` : `${me.role}`;
  document.getElementById("who").textContent = `${who} · ${me.tenant?.name || ""}`;
  document.querySelectorAll("[data-role=admin]").forEach((el) => { el.hidden = me.role !== "admin"; });
}

async function start() {
  try {
    await loadConfig();
  } catch (error) {
    clear(main, errorState({ message: `The console's config.json could not be read: ${error.message}` }));
    return;
  }
  onSessionChange((me) => {
    renderSession(me);
    if (!me && !location.hash.startsWith("#/login")) navigate("/login");
  });
  document.getElementById("logout").addEventListener("click", async () => { await logout(); navigate("/login"); });
  document.getElementById("menu-toggle").addEventListener("click", () =>
    setMenuOpen(!document.getElementById("topbar").classList.contains("menu-open")));
  window.addEventListener("hashchange", route);
  await route();
}

start();
