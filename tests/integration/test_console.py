"""The web console (console/dist) in Debian's Chromium, headless, against the local stack: sign-in and the token
refresh, search in its three modes, an upload through a file input, the project dashboard's charts, the plan page,
and the admin page's chain verification. Screenshots are kept in build/screenshots/ (docs/console.png, the README's,
when MAESTRO_UPDATE_DOCS_SCREENSHOT is set).

The browser is the `chromium` Debian package (`make test` installs it), launched by executable path; Playwright
never downloads one."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.integration.conftest import STRONG_PASSWORD, TenantFixture
from tests.integration.console_seed import seed_workspace

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONSOLE_DIST = PROJECT_DIR / "console" / "dist"
SCREENSHOTS = PROJECT_DIR / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


# ---------------------------------------------------------------- the stack: API (with CORS), bucket, console
@pytest.fixture(scope="module")
def console_url(api_url, dispatcher):
    """The built console on its own origin, allowed by the API's CORS rules and the bucket's, as `make run` does."""
    from infra.local.bootstrap import create_bucket
    from infra.local.console_server import create_console_server, serve_in_background
    from infra.local.moto_server import free_port
    from maestro.settings import get_settings, reset_settings

    if not (CONSOLE_DIST / "index.html").is_file():
        pytest.fail("console/dist is not built: run `make console` (make test does it)")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    previous = os.environ.get("MAESTRO_CORS_ORIGINS")
    os.environ["MAESTRO_CORS_ORIGINS"] = origin
    reset_settings()
    create_bucket(get_settings())  # adds the bucket's CORS rule for browser uploads
    server = create_console_server(api_url, "127.0.0.1", port)
    serve_in_background(server)
    yield origin
    server.shutdown()
    if previous is None:
        os.environ.pop("MAESTRO_CORS_ORIGINS", None)
    else:
        os.environ["MAESTRO_CORS_ORIGINS"] = previous
    reset_settings()


@pytest.fixture(scope="module")
def workspace(api_url, console_url, embedding_model):
    tenant = TenantFixture(api_url, "Console")
    ids = seed_workspace(tenant.admin)
    # the library is embedded asynchronously (ArtifactChanged -> embed_artifacts): wait until semantic search sees it
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = tenant.admin.post("/v1/artifacts/search", json={"query": "churn features", "mode": "semantic"})
        if found.status_code == 200 and len(found.json()["items"]) == len(ids["artifacts"]):
            break
        time.sleep(0.3)
    return tenant, ids


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make chromium` (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"uncaught errors in the console: {errors}"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    viewport = page.viewport_size
    if full_page:  # grow the viewport instead of full_page=True, whose capture path can stall headless Chromium
        height = page.evaluate("() => document.documentElement.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": min(max(height, viewport["height"]), 4000)})
    try:
        page.screenshot(path=str(path), animations="disabled", timeout=30_000)
    except PlaywrightTimeout:
        # headless Chromium's capture occasionally stalls under load: try once more at the viewport's size; the
        # screenshot is an artifact of the test, not one of its assertions, so a second stall only warns
        page.set_viewport_size(viewport)
        try:
            page.screenshot(path=str(path), animations="disabled", timeout=30_000)
        except PlaywrightTimeout:
            warnings.warn(f"screenshot {name} timed out twice; the test's assertions still ran", stacklevel=2)
    finally:
        page.set_viewport_size(viewport)
    return path


def sign_in(page, console_url: str, email: str, next_path: str = "/library") -> None:
    page.goto(f"{console_url}/#{next_path}")
    page.wait_for_selector("#login-form")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#topbar:not([hidden])")


def _unavailable(response: requests.Response) -> bool:
    return response.status_code in (404, 405) or (response.status_code == 403 and "gateway-rejected" in response.text)


# ---------------------------------------------------------------- CORS (what lets a browser on S3 talk to the API)
def test_api_answers_the_console_origin_and_no_other(api_url, console_url):
    preflight = requests.options(
        f"{api_url}/v1/artifacts/search",
        headers={
            "Origin": console_url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == console_url
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]

    stranger = requests.options(
        f"{api_url}/v1/artifacts/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert stranger.status_code == 403 and "Access-Control-Allow-Origin" not in stranger.headers

    # A 401 from the gateway must be readable, or the console cannot tell "refresh the token" from "offline".
    denied = requests.get(f"{api_url}/v1/auth/me", headers={"Origin": console_url}, timeout=10)
    assert denied.status_code == 401
    assert denied.headers["Access-Control-Allow-Origin"] == console_url
    health = requests.get(f"{api_url}/v1/health", headers={"Origin": console_url}, timeout=10)
    assert health.headers["Access-Control-Allow-Origin"] == console_url
    assert "ETag" in health.headers["Access-Control-Expose-Headers"]


# ---------------------------------------------------------------- the browser
def test_sign_in_keeps_tokens_out_of_local_storage_and_refreshes_on_401(page, console_url, workspace):
    tenant, _ = workspace
    page.goto(console_url)
    page.wait_for_selector("#login-form")  # a signed-out visit lands on the sign-in page
    page.fill("input[name=email]", tenant.email)
    page.fill("input[name=password]", "wrong-password-entirely")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(".notice.error:has-text('Email or password is wrong')")
    screenshot(page, "01-sign-in-error", full_page=False)

    sign_in(page, console_url, tenant.email)
    page.wait_for_selector("tr.result")
    assert "admin" in page.inner_text("#who")
    stored = page.evaluate("() => ({local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage)})")
    assert "eyJ" not in stored["local"]  # no token in localStorage at all
    session = json.loads(stored["session"])
    assert list(session) == ["maestro.refresh_token"]  # the access token lives in memory only

    # An access token the API refuses: the next request refreshes once and carries on.
    page.evaluate("() => import('./api.js').then((m) => m.corruptAccessToken())")
    with page.expect_response(lambda r: r.url.endswith("/v1/auth/refresh")) as refreshed:
        page.click("a[data-nav=projects]")
    assert refreshed.value.status == 200
    page.wait_for_selector("a.project-link:has-text('Churn prediction v2')")
    rotated = page.evaluate("() => sessionStorage.getItem('maestro.refresh_token')")
    assert rotated and rotated != session["maestro.refresh_token"]  # single-use refresh tokens rotate

    # A reload keeps the session (refresh token in sessionStorage); signing out ends it.
    page.reload()
    page.wait_for_selector("a.project-link")
    page.click("#logout")
    page.wait_for_selector("#login-form")
    assert page.evaluate("() => sessionStorage.length") == 0


def test_library_search_in_all_three_modes(page, console_url, workspace):
    tenant, _ = workspace
    sign_in(page, console_url, tenant.email)
    page.wait_for_selector("tr.result")
    assert page.locator("tr.result").count() == 3  # the whole library, newest first, before any query

    for mode in ("keyword", "semantic", "hybrid"):
        page.fill("input[name=query]", "churn features")
        page.select_option("select[name=mode]", mode)
        with page.expect_response(lambda r: r.url.endswith("/v1/artifacts/search")) as answered:
            page.click("#search-form button[type=submit]")
        body = answered.value.json()
        page.wait_for_selector("tr.result")
        names = page.locator("tr.result a.artifact-link").all_inner_texts()
        assert "churn-features" in names, (mode, names)
        if body["mode"] != "semantic":  # "churn features" is churn-features' name: first, flagged, its own score
            assert names[0] == "churn-features" and body["items"][0]["name_match"] is True
            assert page.locator("tr.result").first.locator(".badge", has_text="name").count() == 1
            assert all(hit["score"] < 1000 for hit in body["items"]), body["items"]  # no ranking lift shown
        # keyword-ranked when the model is missing, and then the page says so
        assert body["mode"] == mode or body.get("degraded")
        if body.get("degraded"):
            assert page.locator(".notice.warning").count() == 1
    screenshot(page, "02-library-hybrid")

    page.select_option("select[name=type]", "schema")
    page.click("#search-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('tr.result').length === 1")
    assert page.inner_text("tr.result a.artifact-link") == "customer-events-schema"

    page.fill("input[name=query]", "zzqx no such thing")
    page.select_option("select[name=mode]", "keyword")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-results .state.empty")


def test_upload_a_version_through_a_file_input(page, console_url, workspace, tmp_path):
    tenant, ids = workspace
    template_id = ids["artifacts"]["xgb-classifier-template"]
    sign_in(page, console_url, tenant.email, f"/artifacts/{template_id}")
    page.wait_for_selector("#versions .state.empty")  # no versions yet
    page.wait_for_selector("#usage .state.empty")

    content = tmp_path / "template.py"
    content.write_text("def build_model(params):\n    return XGBClassifier(**params)\n")
    page.fill("#upload-form input[name=version]", "1.0.0")
    page.set_input_files("#upload-form input[type=file]", str(content))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-progress .notice.success:has-text('ready')")
    page.wait_for_selector(".version-status[data-version='1.0.0'] .badge.ready")
    version = tenant.admin.get(f"/v1/artifacts/{template_id}/versions/1.0.0").json()
    assert version["status"] == "ready" and version["size_bytes"] == len(content.read_bytes())
    screenshot(page, "03-artifact-upload")

    # The feature pipeline: two versions, derived from the schema (lineage), used by the project (usage chart).
    page.goto(f"{console_url}/#/artifacts/{ids['artifacts']['churn-features']}")
    page.wait_for_selector("#lineage svg.lineage")
    assert page.locator("#lineage g.node").count() == 2
    page.wait_for_selector("#usage canvas[data-points]")
    assert int(page.get_attribute("#usage canvas", "data-points")) > 0
    assert page.locator("#versions .badge.ready").count() == 2
    # each version names what it derives from ("1.0.0" alone read as derived from itself)
    assert page.locator("#versions a.derived-from").all_inner_texts() == ["customer-events-schema 1.0.0"] * 2
    with page.expect_response(lambda r: "/download" in r.url) as link:
        page.locator("#versions button:has-text('Download')").first.click()
    assert link.value.status == 200
    screenshot(page, "04-artifact-detail")


def test_project_dashboard_draws_every_chart(page, console_url, workspace):
    tenant, ids = workspace
    sign_in(page, console_url, tenant.email, f"/projects/{ids['project_id']}")
    page.wait_for_selector("#dora .metric[data-metric=deployment_frequency]")
    page.wait_for_function("() => document.querySelectorAll('#charts canvas[data-points]').length === 5")
    points = page.eval_on_selector_all(
        "#charts canvas", "cs => cs.map(c => [c.dataset.title, Number(c.dataset.points)])"
    )
    assert all(count > 0 for _, count in points), points
    # Chart.js drew them: each canvas has a chart instance with the plotted values.
    drawn = page.evaluate("() => [...document.querySelectorAll('#charts canvas')].map(c => !!Chart.getChart(c))")
    assert all(drawn)
    assert page.locator("#dora .metric").count() == 4
    page.wait_for_selector("#recommendations li[data-rule=spread_knowledge]")
    page.wait_for_selector("#team canvas[data-points]")
    page.wait_for_selector("#team tbody tr")
    assert page.locator("#team tbody tr").count() == 3
    page.wait_for_selector("#velocity tbody tr")
    assert page.locator("#velocity tbody tr").count() >= 4  # commits, merged PRs, CI success, deployments, …
    screenshot(page, "05-project-dashboard")
    if os.environ.get("MAESTRO_UPDATE_DOCS_SCREENSHOT"):  # the README's picture, refreshed on request only
        page.screenshot(
            path=str(PROJECT_DIR / "docs" / "console.png"), full_page=False, animations="disabled", timeout=45_000
        )

    # A period without data: every chart says so instead of drawing an empty axis.
    page.goto(f"{console_url}/#/projects/{ids['project_id']}?days=30")
    page.wait_for_function("() => document.querySelectorAll('#charts canvas').length === 5")


def _stub_prediction(team_size: int) -> dict:
    """The contract of POST /v1/predictions, with outcomes that depend on the team size."""

    def target(point, spread, version="stub-1"):
        return {
            "point": point,
            "intervals": {"80": [point - spread, point + spread], "90": [point - 1.4 * spread, point + 1.4 * spread]},
            "model_version": version,
            "top_contributions": [
                {"feature": "team_size", "contribution": team_size / 10},
                {"feature": "complexity_score", "contribution": -1.2},
            ],
        }

    return {
        "id": f"pred_{team_size}",
        "basis": "model",
        "targets": {
            "success_score": target(60 + team_size, 8),
            "duration_days": target(120 - 3 * team_size, 20),
            "compute_cost_usd": target(1000 + 50 * team_size, 300),
        },
    }


def test_plan_page_against_the_contract(page, console_url, workspace):
    """The plan page against the agreed contract of the meta-learning routes (stubbed in the browser, so this holds
    whether or not the API serves them yet): prediction with intervals, recommendations, and a team-size change
    that predicts again."""
    tenant, ids = workspace
    seen_sizes: list[int] = []

    def predictions(route):
        profile = json.loads(route.request.post_data)["profile"]
        seen_sizes.append(profile["team_size"])
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": console_url},
            body=json.dumps(_stub_prediction(profile["team_size"])),
        )

    def recommendations(route):
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": console_url},
            body=json.dumps(
                {
                    "basis": "model",
                    "artifacts": [
                        {
                            "artifact_id": ids["artifacts"]["churn-features"],
                            "name": "churn-features",
                            "type": "feature_pipeline",
                            "score": 0.82,
                            "reasons": ["used by 1 similar project"],
                        }
                    ],
                    "team": {
                        "current": {"size": 4, "predicted": {"success_score": {"point": 64}}},
                        "recommended": {"size": 6, "predicted": {"success_score": {"point": 66}}},
                    },
                }
            ),
        )

    page.route("**/v1/predictions", predictions)
    page.route("**/v1/recommendations", recommendations)
    sign_in(page, console_url, tenant.email, f"/plan?project={ids['project_id']}")  # prefilled from the project
    success = "#predictions [data-target=success_score]"
    page.wait_for_selector(success)
    assert page.get_attribute(success, "data-point") == "64"  # team of 4, from the project
    assert "80%" in page.inner_text(success) and "90%" in page.inner_text(success)
    page.wait_for_selector("#plan-recommendations a:has-text('churn-features')")
    assert page.locator(".team-option").count() == 2

    page.fill("#team-size", "9")
    page.wait_for_function(f"() => document.querySelector('{success}')?.dataset.point === '69'")
    assert seen_sizes[0] == 4 and seen_sizes[-1] == 9
    screenshot(page, "06-plan")


def test_plan_page_against_the_api(page, console_url, trained_tenant):
    """The real POST /v1/predictions of a tenant with trained models: changing the team size predicts again."""
    tenant = trained_tenant.tenant
    assert trained_tenant.job["state"] == "succeeded", trained_tenant.job
    sign_in(page, console_url, tenant.email, "/plan")
    page.fill("#team-size", "3")
    page.click("#plan-form button[type=submit]")
    success = "#predictions [data-target]"
    page.wait_for_selector(success)
    assert page.locator("#predictions [data-target]").count() == 3
    assert "prior" not in page.locator("#predictions").inner_text().lower()
    page.wait_for_selector("#plan-recommendations :is(table, .state, p)")
    before = page.eval_on_selector_all("#predictions [data-target]", "els => els.map(e => e.dataset.point)")
    page.fill("#team-size", "9")
    page.wait_for_function(
        "before => JSON.stringify([...document.querySelectorAll('#predictions [data-target]')]"
        ".map(e => e.dataset.point)) !== JSON.stringify(before)",
        arg=before,
    )
    screenshot(page, "07-plan-api")


def test_model_page_shows_the_champions(page, console_url, trained_tenant):
    tenant = trained_tenant.tenant
    sign_in(page, console_url, tenant.email, "/model")
    page.wait_for_selector("#models .card[data-target]")
    assert page.locator("#models .card[data-target]").count() == 3
    text = page.locator("#models").inner_text()
    meta = tenant.admin.get("/v1/models/meta").json()  # other tests may have retrained since
    for target in meta["targets"].values():
        champion = target["champion"]
        assert f"Champion {champion['version']}" in text
        # the champion's hold-out MAE beside the baselines' on the same projects, as a table of rows, not dotted names
        assert f"{champion['holdout']['mae']:.3f}" in text
        assert f"{champion['baselines']['tenant_mean']['holdout_mae']:.3f}" in text
    assert "Tenant mean" in text and "Ridge" in text and "baselines." not in text
    assert "Intervals held the outcome: 80% interval" in text
    assert f"nDCG@10 {meta['recommender']['validation']['ndcg_at_10']:.3f}" in text
    screenshot(page, "10-model-trained")


def test_admin_verifies_the_audit_chain_and_model_page_states(page, console_url, workspace):
    tenant, _ = workspace
    sign_in(page, console_url, tenant.email, "/admin")
    page.wait_for_selector("#users tbody tr")
    page.wait_for_selector("#audit tbody tr")
    page.click("#verify-chain")
    page.wait_for_selector("#audit-verify .notice.success:has-text('Chain intact')")
    page.fill("#create-key input[name=name]", "ci-ingest")
    page.click("#create-key button[type=submit]")
    page.wait_for_selector("code.secret:has-text('mml_')")
    screenshot(page, "08-admin")

    page.click("a[data-nav=model]")
    meta = tenant.admin.get("/v1/models/meta")
    if _unavailable(meta):
        page.wait_for_selector("#models .state.error.unavailable")
    else:
        page.wait_for_selector("#models .card[data-target]")
        assert page.locator("#models .card[data-target]").count() == len(meta.json().get("targets") or [None])
    screenshot(page, "09-model")


# ---------------------------------------------------------------- layout: no page wider than the window
SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
EVENTS = PROJECT_DIR / "tests" / "events" / "console"

# The page's width beyond the window, and the outermost elements that stick out (for the failure message): an
# element inside a box that scrolls sideways (a wide table, the lineage graph) is that box's business, not the page's.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  const out = [...document.querySelectorAll('body *')].filter((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && !scrolls(el);
  }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')}`
    + ` right=${Math.round(el.getBoundingClientRect().right)} ${(el.textContent || '').trim().slice(0, 60)}`);
  return {width, scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth), out};
}"""


def settle(page, timeout_ms: int = 60_000) -> None:
    """Every section loaded (no spinner left) and the charts drawn."""
    try:
        page.wait_for_function("() => !document.querySelector('#main .state.loading')", timeout=timeout_ms)
    except PlaywrightTimeout:
        still = page.eval_on_selector_all(
            "#main .state.loading", "els => els.map(e => e.closest('[id]')?.id || e.parentElement.className)"
        )
        raise AssertionError(f"still loading after {timeout_ms} ms: {still}") from None
    page.wait_for_timeout(150)


def assert_fits(page, where: str) -> None:
    measured = page.evaluate(OVERFLOW_JS)
    assert measured["scrollWidth"] <= measured["width"], (
        f"{where} is {measured['scrollWidth']} px wide in a {measured['width']} px window: {measured['out']}"
    )


def stub_json(page, console_url: str, pattern: str, body: dict, method: str | None = None) -> None:
    def answer(route):
        if method and route.request.method != method:
            route.fallback()
            return
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": console_url},
            body=json.dumps(body),
        )

    page.route(pattern, answer)


def _event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize("size", list(SIZES))
def test_no_console_page_is_wider_than_the_window(browser, console_url, workspace, size):
    """Every route of the console, signed out and in, at 1366×768 and 390×844: the document is never wider than
    the window. The model and plan pages get the answers of a trained workspace (tests/events/console/, recorded
    from the API), whose long model names and decisions made the model page ~3,400 px wide."""
    tenant, ids = workspace
    context = browser.new_context(viewport=SIZES[size], device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    stub_json(page, console_url, "**/v1/models/meta", _event("models_meta.json"))
    stub_json(page, console_url, "**/v1/predictions", _event("prediction.json"))
    stub_json(page, console_url, "**/v1/recommendations", _event("recommendations.json"))
    try:
        page.goto(f"{console_url}/#/login")
        page.wait_for_selector("#login-form")
        assert_fits(page, f"login at {size}")
        sign_in(page, console_url, tenant.email)
        if size == "phone":  # the nav folds behind the menu button, and opens on demand
            assert not page.is_visible("#nav") and page.is_visible("#menu-toggle")
            page.click("#menu-toggle")
            assert page.is_visible("a[data-nav=projects]")
            assert_fits(page, "the open menu")
            page.click("a[data-nav=projects]")
            page.wait_for_selector("a.project-link")
            assert not page.is_visible("#nav")
        else:
            assert page.is_visible("#nav") and not page.is_visible("#menu-toggle")
        routes = {
            "library": "/library",
            "artifact": f"/artifacts/{ids['artifacts']['churn-features']}",
            "artifact-empty": f"/artifacts/{ids['artifacts']['xgb-classifier-template']}",
            "projects": "/projects",
            "project": f"/projects/{ids['project_id']}",
            "project-unknown": "/projects/prj_00000000000000000000000000",
            "plan": f"/plan?project={ids['project_id']}",
            "model": "/model",
            "admin": "/admin",
        }
        for name, path in routes.items():
            page.goto(f"{console_url}/#{path}")
            page.wait_for_selector("#main .page")
            settle(page)
            if path.startswith("/plan"):
                page.wait_for_selector(".team-option")
            assert_fits(page, f"{path} at {size}")
            screenshot(page, f"fit-{size}-{name}")
    finally:
        context.close()
    assert not errors, errors


def test_plan_page_shows_team_shapes_and_their_intervals(page, console_url, workspace):
    """The team shapes as POST /v1/recommendations sends them (recorded from a trained workspace): roles and
    levels in words, each predicted outcome with its 80 % interval; no `[object Object]`, no "Duration 80 —"."""
    tenant, ids = workspace
    recommendations = _event("recommendations.json")
    stub_json(page, console_url, "**/v1/predictions", _event("prediction.json"))
    stub_json(page, console_url, "**/v1/recommendations", recommendations)
    sign_in(page, console_url, tenant.email, f"/plan?project={ids['project_id']}")
    page.wait_for_selector(".team-option")
    text = page.inner_text("#plan-recommendations")
    assert "[object Object]" not in text and "Duration 80" not in text and "undefined" not in text, text
    for option, block in zip(("current", "recommended"), page.locator(".team-option").all(), strict=True):
        team = recommendations["team"][option]
        shown = block.inner_text()
        assert f"Size {team['shape']['team_size']}" in shown
        for role, people in team["shape"]["roles"].items():
            if people:
                assert role.replace("_", " ") in shown
        low, high = team["predicted"]["duration_80"]
        assert f"80%: {round(low)}–{round(high)}" in block.locator("[data-predicted=duration_days]").inner_text()
        low, high = team["predicted"]["success_80"]
        assert f"80%: {low:.1f}–{high:.1f}" in block.locator("[data-predicted=success_score]").inner_text()


def test_an_unknown_id_says_not_found(page, console_url, workspace):
    tenant, _ = workspace
    sign_in(page, console_url, tenant.email, "/projects/prj_00000000000000000000000000")
    page.wait_for_selector(".state.not-found")
    text = page.inner_text("#main")
    assert "Not found" in text and "not available" not in text.lower()
    page.click(".state.not-found a")  # and the way back
    page.wait_for_selector("a.project-link")
    page.goto(f"{console_url}/#/artifacts/art_00000000000000000000000000")
    page.wait_for_selector(".state.not-found")
    assert "not available" not in page.inner_text("#main").lower()


# ---------------------------------------------------------------- a team's history, end to end, in the browser
HISTORY_SIZE = 60
CSV_COLUMNS = [
    "external_id", "name", "problem_class", "complexity_score", "team_size", "description", "start_date",
    "model_performance", "business_impact_usd", "duration_days", "compute_cost_usd", "completed_at",
]  # fmt: skip
GIT_FIXTURE = PROJECT_DIR / "tests" / "data" / "git"
TARGETS = ("success_score", "duration_days", "compute_cost_usd")


def _history_csv(path: Path, rows: list[dict], refused: list[dict] = ()) -> Path:
    """The rows as the import's CSV (external ids hist-000…); `refused` rows follow, with their own external_id."""
    import csv

    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for n, row in enumerate(rows):
            writer.writerow(
                {"external_id": f"hist-{n:03d}", **{k: v for k, v in row.items() if k != "outcome"}, **row["outcome"]}
            )
        for row in refused:
            writer.writerow({k: v for k, v in row.items() if k != "outcome"} | row["outcome"])
    return path


def _refused_rows(now) -> list[dict]:
    """Two rows the import refuses: an outcome completed next month (a project that has not ended has no outcome),
    and one completed before its start."""
    from datetime import timedelta

    outcome = {
        "model_performance": 0.7,
        "business_impact_usd": 1000,
        "duration_days": 30,
        "compute_cost_usd": 100,
    }
    common = {"problem_class": "regression", "complexity_score": 4, "team_size": 3, "description": "refused"}
    return [
        {
            "external_id": "bad-future",
            "name": "Ends next month",
            "start_date": (now - timedelta(days=10)).date().isoformat(),
            "outcome": {**outcome, "completed_at": (now + timedelta(days=30)).isoformat()},
            **common,
        },
        {
            "external_id": "bad-order",
            "name": "Ends before it starts",
            "start_date": "2023-05-01",
            "outcome": {**outcome, "completed_at": "2023-03-01T00:00:00+00:00"},
            **common,
        },
    ]


def _duplicated_pull_request(client, project: dict, merged_at) -> None:
    """One merged PR reported by two sources (a webhook and an API backfill: two event ids, one pr_number): the
    velocity card and the PR chart count it once; the raw pr_merge_hours events hold it twice. Likewise one commit
    (a git-log drop and a push webhook: two event ids, one sha): the git report and the commits chart count it once."""
    from datetime import timedelta

    events = []
    for source in ("git-log", "github-push"):
        meta = {"sha": "c0ffee" * 6 + "beef", "author_email": "ada@example.com"}
        events.append(
            {"project_id": project["id"], "metric_type": "commits", "value": 1, "timestamp": merged_at.isoformat(),
             "metadata": meta, "source": source, "event_id": f"{source}:commit:c0ffee"}
        )  # fmt: skip
    for source in ("github-webhook", "github-backfill"):
        meta = {"pr_number": 9001, "author_login": "ada"}
        at = (merged_at + timedelta(seconds=len(events))).isoformat()
        events += [
            {"project_id": project["id"], "metric_type": "pr_merged", "value": 1, "timestamp": at, "metadata": meta,
             "source": source, "event_id": f"{source}:pr:9001:merged"},
            {"project_id": project["id"], "metric_type": "pr_merge_hours", "value": 30, "timestamp": at,
             "metadata": meta, "source": source, "event_id": f"{source}:pr:9001:merge_hours"},
        ]  # fmt: skip
    answer = client.post("/v1/metrics", json={"events": events})
    assert answer.status_code == 200, answer.text


def _long_lived_project(client) -> tuple[dict, dict]:
    """A real repository's life, imported: escape-string-regexp (tests/data/git, MIT), started June 2014 and still
    maintained; its `git log --numstat` dropped through the ingest upload. Over 11 years: more than the 3 the
    console used to clip a life to."""
    import json as json_module

    source = json_module.loads((GIT_FIXTURE / "escape-string-regexp.json").read_text())
    row = {
        "external_id": "oss-escape-string-regexp",
        "name": "escape-string-regexp",
        "problem_class": "other",
        "complexity_score": 2,
        "team_size": 1,
        "description": "Escape RegExp special characters (open source, since 2014)",
        "start_date": source["first_commit"][:10],
    }
    imported = client.post("/v1/projects/import", json={"projects": [row]})
    assert imported.status_code == 200, imported.text
    project = client.get(f"/v1/projects/{imported.json()['projects'][0]['id']}").json()
    drop = client.post(f"/v1/projects/{project['id']}/ingest-uploads", json={"file_name": "history.gitlog"})
    assert drop.status_code == 201, drop.text
    upload = drop.json()["upload"]
    data = (GIT_FIXTURE / "escape-string-regexp.gitlog").read_bytes()
    assert requests.put(upload["url"], data=data, headers=upload.get("headers") or {}, timeout=30).status_code == 200
    deadline = time.monotonic() + 60
    while True:
        state = client.get(f"/v1/projects/{project['id']}/ingest-uploads/{drop.json()['id']}").json()
        if state["state"] in ("ingested", "rejected") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert state["state"] == "ingested", state
    return project, source


@pytest.fixture(scope="module")
def journey(api_url, console_url, embedding_model, mlflow_tracking):
    """A new workspace with a small library (the console seed), a project that ended two years ago (events stop
    then, one of its PRs reported twice) and a real repository's 11-year life; its 60 past projects come in
    through the console's import when the API serves it."""
    from datetime import UTC, datetime, timedelta

    from maestro.services.meta import champions
    from tests.integration.console_seed import history_rows, seed_past_project

    champions.CHAMPION_TTL_SECONDS = 0.0  # serving reads the new champion pointers at once (in AWS: every 30 s)
    tenant = TenantFixture(api_url, "Journey")
    now = datetime.now(UTC)
    ids = seed_workspace(tenant.admin, now)
    past = seed_past_project(tenant.admin, now, years_ago=2.0, weeks=20)
    _duplicated_pull_request(tenant.admin, past, now - timedelta(days=365 * 2 + 30))
    long_lived, git_source = _long_lived_project(tenant.admin)
    return tenant, ids, past, (long_lived, git_source), history_rows(HISTORY_SIZE, now), now


def _analytics_periods(requests_seen: list[str], project_id: str) -> list[tuple]:
    """(from, to) of each analytics request for the project, as instants ((None, None) when it sent none)."""
    from datetime import datetime
    from urllib.parse import parse_qs, urlparse

    def instant(text):
        return datetime.fromisoformat(text) if text else None

    periods = []
    for url in requests_seen:
        parsed = urlparse(url)
        if parsed.path.startswith(f"/v1/projects/{project_id}/") and parsed.path.rsplit("/", 1)[1] in (
            "metrics", "git", "dora", "ci", "velocity", "team-analytics",
        ):  # fmt: skip
            query = parse_qs(parsed.query)
            periods.append((instant(query.get("from", [""])[0]), instant(query.get("to", [""])[0])))
    return periods


def _asks_the_api_for_its_period(requests_seen: list[str], project_id: str, shown: dict, life: bool) -> None:
    """The whole life: one request without a period (the API's default), then every request carries the period
    the API answered, which the label shows. Any other range: every request carries the label's period."""
    from datetime import datetime

    periods = _analytics_periods(requests_seen, project_id)
    answered = (datetime.fromisoformat(shown["from"]), datetime.fromisoformat(shown["to"]))
    if life:
        assert periods.count((None, None)) == 1, periods
        periods.remove((None, None))
    assert periods and set(periods) == {answered}, periods


def _shown_period(page) -> dict:
    return page.eval_on_selector(
        "#period-label",
        "el => ({from: el.dataset.from, to: el.dataset.to, bucket: el.dataset.bucket, text: el.textContent})",
    )


def _charts_drawn(page, count: int = 5) -> list[int]:
    # a whole-life dashboard asks ~12 requests before its charts draw: a loaded CI machine took over 15 s once
    page.wait_for_function(
        f"() => document.querySelectorAll('#charts canvas[data-points]').length === {count}", timeout=60_000
    )
    return page.eval_on_selector_all("#charts canvas", "cs => cs.map(c => Number(c.dataset.points))")


def _chart_values(page, title_start: str, dataset: int = 0) -> list:
    return page.evaluate(
        "([title, n]) => { const c = [...document.querySelectorAll('#charts canvas')]"
        ".find(c => c.dataset.title.startsWith(title)); return Chart.getChart(c).data.datasets[n].data; }",
        [title_start, dataset],
    )


def _day(moment) -> str:
    """A date as the console's period label writes it (en-US, UTC): Jun 24, 2014."""
    return f"{moment:%b} {moment.day}, {moment.year}"


def _import_file(page, path: Path, dry_run: bool = False) -> str:
    if not page.is_visible("#import-form"):
        page.click("#import-card summary")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.set_checked("#import-form input[name=dry_run]", dry_run)
    page.eval_on_selector("#import-progress", "el => el.replaceChildren()")  # not the previous file's answer
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-progress .notice:not(.info)", timeout=120_000)
    return page.inner_text("#import-progress")


def test_a_teams_history_through_the_console(browser, console_url, journey, tmp_path):
    """The loop a team lives, in the browser at 1366×768 (and each page again at 390×844): try the past's file
    (a dry run shows the refused rows), bring it in, find a project in a long list, see a real repository's
    11-year life and a finished project's whole life as the API answers them, record an outcome, a team (and
    remove a member) and an artifact's use, edit it, pick a custom range, retrain the models, and plan the next
    project on them. No page is ever wider than the window."""
    from datetime import UTC, datetime, timedelta

    tenant, ids, past, (long_lived, git_source), rows, now = journey
    context = browser.new_context(viewport=SIZES["desktop"], device_scale_factor=1, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    visited: dict[str, str] = {}

    def shot(name: str) -> None:
        settle(page)
        assert_fits(page, name)
        screenshot(page, f"journey-desktop-{name}")
        visited[name] = page.url

    def open_project(query: str) -> None:
        page.goto(f"{console_url}/#/projects")
        page.fill("#project-filters input[name=q]", query)
        page.wait_for_function("() => document.querySelectorAll('a.project-link').length === 1")
        seen.clear()
        page.click("a.project-link")
        page.wait_for_selector("#period-label")

    def project_count() -> int:
        return len(tenant.admin.get("/v1/projects", params={"limit": 100}).json()["items"])

    try:
        # 1. The past comes in: a dry run first (nothing written, the refused rows listed with their reasons), then
        #    the file for real, through the console's import (a CSV through the presigned upload).
        sign_in(page, console_url, tenant.email, "/projects")
        page.wait_for_selector("a.project-link")
        before = project_count()
        trial = tmp_path / "history-with-mistakes.csv"
        said = _import_file(page, _history_csv(trial, rows, _refused_rows(now)), dry_run=True)
        assert "Dry run (nothing written) succeeded" in said, said
        assert f"created {HISTORY_SIZE}" in said and "rejected 2" in said, said
        assert page.locator("#import-progress .notice.warning").count() == 1
        refusals = page.locator("#import-progress li.import-error").all_inner_texts()
        assert len(refusals) == 2, refusals
        assert "(bad-future)" in refusals[0] and "completed_at" in refusals[0] and "future" in refusals[0]
        assert "(bad-order)" in refusals[1] and "before start_date" in refusals[1]
        assert project_count() == before  # a dry run writes nothing
        shot("projects-import-dry-run")
        said = _import_file(page, _history_csv(tmp_path / "history.csv", rows))
        assert page.locator("#import-progress .notice.success").count() == 1, said
        assert f"created {HISTORY_SIZE}" in said.lower()
        total = HISTORY_SIZE + 3  # the seed's live project, the one that ended two years ago, the repository

        # 2. The list pages: 50 first, then "Load more"; search and sort agree with the API.
        page.wait_for_function("() => document.querySelector('#project-list')?.dataset.loaded === '50'")
        page.click("#project-list button.load-more")
        page.wait_for_function(f"() => document.querySelector('#project-list')?.dataset.loaded === '{total}'")
        assert not page.is_visible("#project-list button.load-more")
        page.fill("#project-filters input[name=q]", "pricing")
        page.select_option("#project-filters select[name=sort]", "name")
        expected = [
            p["name"] for p in tenant.admin.get("/v1/projects", params={"q": "pricing", "sort": "name"}).json()["items"]
        ]
        assert len(expected) == HISTORY_SIZE // 5
        page.wait_for_function(
            "n => [...document.querySelectorAll('a.project-link')].map(a => a.textContent).join('|') === n",
            arg="|".join(expected),
        )
        shot("projects-search")

        # 3. A real repository's whole life, 2014 to today: the period is the API's default (no from/to sent), the
        #    label says it, the series start at the project's start, and every commit of `git rev-list` is there.
        open_project("escape-string-regexp")
        points = _charts_drawn(page, 2)  # commits and lines (no CI, deployments or pull requests in a git log)
        shown = _shown_period(page)
        _asks_the_api_for_its_period(seen, long_lived["id"], shown, life=True)
        api_life = tenant.admin.get(f"/v1/projects/{long_lived['id']}/git").json()
        assert shown["from"] == api_life["period"]["start"] and shown["bucket"] == api_life["bucket"] == "month"
        start = datetime.fromisoformat(shown["from"])
        assert start.isoformat()[:10] == long_lived["start_date"] == git_source["first_commit"][:10]
        last_day = datetime.fromisoformat(shown["to"]) - timedelta(microseconds=1)
        assert shown["text"] == f"Whole life so far: {_day(start)} – {_day(last_day)}", shown
        assert last_day.date() >= datetime.now(UTC).date() - timedelta(days=1)  # to today: never clipped
        firsts = page.eval_on_selector_all("#charts canvas[data-first]", "cs => cs.map(c => c.dataset.first)")
        assert firsts and set(firsts) == {start.replace(day=1).isoformat()}, firsts  # the month it started
        assert sum(_chart_values(page, "Commits per month")) == git_source["rev_list_count"] == api_life["commits"]
        assert points[0] > 100  # one point a month for 11 years
        shot("dashboard-eleven-years")
        # the last year of that life: it ends where the API's life ends, and the label says so
        seen.clear()
        page.select_option("#period-select", "365")
        page.wait_for_function("() => document.querySelector('#period-label')?.textContent.startsWith('Last 365')")
        settle(page)
        year = _shown_period(page)
        _asks_the_api_for_its_period(seen, long_lived["id"], year, life=True)  # the life, then its last year
        year_from, year_to = datetime.fromisoformat(year["from"]), datetime.fromisoformat(year["to"])
        # (the browser's dates hold milliseconds, the API's microseconds)
        assert abs(year_to - year_from - timedelta(days=365)) < timedelta(milliseconds=1)
        assert year_to >= datetime.fromisoformat(shown["to"])
        last_day = year_to - timedelta(microseconds=1)
        assert year["text"] == f"Last 365 days of its life: {_day(year_from)} – {_day(last_day)}", year
        assert "No commits in this period." in page.inner_text("#charts")  # its last commit was in May 2025

        # 4. A project that ended two years ago opens on its whole life, with data; its PR chart counts the merges
        #    the velocity card counts (the PR reported by two sources once).
        open_project("demand forecast 2024")
        points = _charts_drawn(page)
        assert all(n > 0 for n in points), points
        shown = _shown_period(page)
        assert shown["text"].startswith("Whole life so far")
        _asks_the_api_for_its_period(seen, past["id"], shown, life=True)
        assert shown["from"].startswith(past["start_date"]) and shown["bucket"] == "week"
        page.wait_for_selector("#velocity tr[data-component=merged_prs_per_week]")
        merged = int(page.get_attribute("#charts canvas[data-merged]", "data-merged"))
        assert sum(_chart_values(page, "Pull requests", 1)) == merged
        weeks = (datetime.fromisoformat(shown["to"]) - datetime.fromisoformat(shown["from"])) / timedelta(weeks=1)
        card_value = float(page.get_attribute("#velocity tr[data-component=merged_prs_per_week]", "data-value"))
        assert card_value == pytest.approx(merged / weeks, rel=1e-9)
        period = {"from": shown["from"], "to": shown["to"]}
        git = tenant.admin.get(f"/v1/projects/{past['id']}/git", params=period).json()
        raw = tenant.admin.get(
            f"/v1/projects/{past['id']}/metrics", params={**period, "type": "pr_merge_hours", "bucket": shown["bucket"]}
        ).json()
        assert merged == git["prs_merged"]["count"] == sum(p["count"] for p in raw["points"]) - 1
        raw_commits = tenant.admin.get(
            f"/v1/projects/{past['id']}/metrics", params={**period, "type": "commits", "bucket": shown["bucket"]}
        ).json()
        charted = sum(_chart_values(page, "Commits per"))
        assert charted == git["commits"] == sum(p["sum"] for p in raw_commits["points"]) - 1
        shot("dashboard-whole-life")

        # 5. Record its outcome: completed two years ago. The project completes and its life now ends there.
        completed = (now - timedelta(days=730)).date().isoformat()
        page.fill("#record-outcome input[name=model_performance]", "0.81")
        page.fill("#record-outcome input[name=business_impact_usd]", "42000")
        page.fill("#record-outcome input[name=duration_days]", "140")
        page.fill("#record-outcome input[name=compute_cost_usd]", "950")
        page.fill("#record-outcome input[name=completed_at]", completed)
        seen.clear()
        page.click("#record-outcome button[type=submit]")
        page.wait_for_selector("h1 .badge.completed")
        stored = tenant.admin.get(f"/v1/projects/{past['id']}").json()
        assert stored["status"] == "completed" and stored["outcome"]["duration_days"] == 140
        assert stored["outcome"]["completed_at"].startswith(completed)
        points = _charts_drawn(page)
        assert all(n > 0 for n in points), points
        shown = _shown_period(page)
        assert shown["text"].startswith("Whole life:") and shown["bucket"] == "day"
        assert shown["to"][:10] in (completed, (now - timedelta(days=729)).date().isoformat())
        _asks_the_api_for_its_period(seen, past["id"], shown, life=True)

        # 6. Its team (one member added, another added and removed) and the artifacts it used.
        page.click("#members ~ details summary")
        for name in ("Dana", "Eve"):
            page.fill("#add-member input[name=display_name]", name)
            page.select_option("#add-member select[name=role]", "ml_scientist")
            page.select_option("#add-member select[name=experience_level]", "senior")
            page.fill("#add-member input[name=contribution_hours]", "300")
            page.click("#add-member button[type=submit]")
            page.wait_for_selector(f"#members tr.member-row:has-text('{name}')")
        page.click("#members tr.member-row:has-text('Eve') button:has-text('remove')")
        page.wait_for_function("() => !document.querySelector('#members')?.textContent.includes('Eve')")
        members = tenant.admin.get(f"/v1/projects/{past['id']}/members").json()["items"]
        assert [(m["display_name"], m["role"], m["experience_level"]) for m in members] == [
            ("Dana", "ml_scientist", "senior")
        ]

        page.click("#usages ~ details summary")
        page.fill("#usage-artifact-search", "churn-features")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#record-usage select[name=artifact_id] option')].some(o => o.textContent.startsWith('churn-features'))"
        )
        page.wait_for_function(
            "() => document.querySelector('#record-usage select[name=version]').options.length === 2"
        )
        page.select_option("#record-usage select[name=version]", "1.0.0")
        page.fill("#record-usage input[name=context]", "training features")
        page.click("#record-usage button[type=submit]")
        page.wait_for_selector("#usages tr.usage-row:has-text('churn-features')")
        usages = tenant.admin.get(f"/v1/projects/{past['id']}/artifacts").json()["items"]
        assert [(u["artifact_id"], u["version"], u["context"]) for u in usages] == [
            (ids["artifacts"]["churn-features"], "1.0.0", "training features")
        ]

        # 7. Edit it.
        page.fill("#edit-project input[name=team_size]", "5")
        page.fill("#edit-project textarea[name=description]", "Weekly demand per store; shipped to 40 stores")
        page.click("#edit-project button[type=submit]")
        page.wait_for_selector("p.muted:has-text('team of 5')")
        edited = tenant.admin.get(f"/v1/projects/{past['id']}").json()
        assert edited["team_size"] == 5 and edited["description"].endswith("40 stores")
        shot("dashboard-recorded")

        # 8. A custom range: four weeks in the middle of its life; the label and every request say the same.
        from datetime import date as calendar_date

        first = calendar_date.fromisoformat(stored["start_date"]) + timedelta(weeks=6)
        last = first + timedelta(days=27)
        page.select_option("#period-select", "custom")
        page.fill("#custom-range input[name=from]", first.isoformat())
        page.fill("#custom-range input[name=to]", last.isoformat())
        seen.clear()
        page.click("#custom-range button[type=submit]")
        page.wait_for_function("() => document.querySelector('#period-label')?.textContent.startsWith('Custom range')")
        points = _charts_drawn(page)
        assert all(n > 0 for n in points), points
        shown = _shown_period(page)
        assert shown["from"].startswith(first.isoformat()) and shown["bucket"] == "day"
        assert shown["to"].startswith((last + timedelta(days=1)).isoformat())
        assert shown["text"] == f"Custom range: {_day(first)} – {_day(last)}"
        _asks_the_api_for_its_period(seen, past["id"], shown, life=False)
        shot("dashboard-custom-range")

        # 9. Retrain on the imported history from the model page: the models now answer.
        page.goto(f"{console_url}/#/model")
        page.wait_for_selector("#models .state.empty, #models .card[data-target]")
        page.click("button:has-text('Retrain now')")
        page.wait_for_selector("#retrain .notice.success:has-text('succeeded')", timeout=600_000)
        page.wait_for_selector("#models .card[data-target] >> text=Champion")
        meta = tenant.admin.get("/v1/models/meta").json()
        assert meta["basis"] == "model", meta
        assert meta["training_data"]["used"] >= HISTORY_SIZE
        assert page.locator("#models .card[data-target]").count() == 3
        shot("model-trained")

        # 10. Plan the next one from the project: the form is prefilled, and the models answer with every point
        #     inside its own 80 % and 90 % intervals.
        page.goto(f"{console_url}/#/projects/{past['id']}")
        page.click("a:has-text('Predict outcome')")
        page.wait_for_selector("#prediction-basis[data-basis=model]")
        assert page.input_value("#team-size") == "5"
        cards = page.eval_on_selector_all(
            "#predictions [data-target]",
            "els => els.map(e => [e.dataset.target, Number(e.dataset.point), JSON.parse(e.dataset.intervals)])",
        )
        assert sorted(name for name, _, _ in cards) == sorted(TARGETS)
        for name, point, intervals in cards:
            (low80, high80), (low90, high90) = intervals["80"], intervals["90"]
            assert low90 <= low80 <= point <= high80 <= high90, (name, point, intervals)
        page.wait_for_selector("#plan-recommendations :is(table, .state, p)")
        shot("plan")
    finally:
        context.close()
    assert not errors, errors

    # The same pages on a phone: nothing wider than the window.
    phone = browser.new_context(viewport=SIZES["phone"], device_scale_factor=1, locale="en-US")
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    try:
        sign_in(page, console_url, tenant.email, "/projects")
        for name, url in visited.items():
            page.goto(url)
            page.wait_for_selector("#main .page")
            settle(page)
            assert_fits(page, f"{name} on a phone")
            screenshot(page, f"journey-phone-{name}")
    finally:
        phone.close()
