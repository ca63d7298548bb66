"""The `maestro` CLI end to end: each command runs as its own process (`python -m maestro_client.cli`) against the
local API server backed by moto, with the dispatcher delivering S3 events, and a config dir of its own. Logging
in, projects, pushing an artifact version (SHA-256, presigned upload, verified `ready`) and pulling the same bytes,
search, editing, deprecating and deleting an artifact, metrics from JSONL and from real `git log` output, audit
verification, token refresh, `--json` and the documented exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.integration

OK, USAGE, API, AUTH, NOT_FOUND, SERVER, FAILED = 0, 1, 2, 3, 4, 5, 6


def missing_detail(result):
    return json.loads(result.stderr)["detail"]


def _json(result):
    assert result.returncode == 0, (result.returncode, result.stdout.decode(), result.stderr.decode())
    return json.loads(result.stdout)


def _project(maestro, name="churn model"):
    return _json(
        maestro(
            "projects",
            "create",
            "--name",
            name,
            "--problem-class",
            "classification",
            "--complexity-score",
            "5",
            "--team-size",
            "4",
            "--json",
        )
    )


# ---------------------------------------------------------------- login and credentials
def test_login_keeps_tokens_in_a_0600_file_and_whoami_reads_them(maestro, tenant):
    result = maestro("login", "--email", tenant.email, "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert result.returncode == OK, result.stderr.decode()
    assert str(maestro.credentials) in result.stdout.decode()
    assert stat.S_IMODE(maestro.credentials.stat().st_mode) == 0o600
    saved = json.loads(maestro.credentials.read_text())
    assert saved["kind"] == "tokens" and saved["access_token"] and saved["refresh_token"]
    assert saved["tenant_id"] == tenant.tenant_id and saved["email"] == tenant.email

    me = _json(maestro("whoami", "--json"))
    assert me["user"]["email"] == tenant.email and me["role"] == "admin" and me["tenant"]["id"] == tenant.tenant_id
    table = maestro("whoami")
    assert table.returncode == OK and tenant.email in table.stdout.decode()


def test_bad_credentials_exit_3_with_the_problem_on_stderr(maestro, tenant):
    result = maestro("--json", "login", "--email", tenant.email, "--password-stdin", stdin="not-the-password\n")
    assert result.returncode == AUTH
    problem = json.loads(result.stderr)
    assert problem["status"] == 401 and problem["title"]
    assert result.stdout == b"" and not maestro.credentials.exists()

    human = maestro("login", "--email", tenant.email, "--password-stdin", stdin="not-the-password\n")
    assert human.returncode == AUTH and b"401" in human.stderr


def test_without_credentials_commands_exit_3(maestro):
    result = maestro("projects", "list")
    assert result.returncode == AUTH and b"maestro login" in result.stderr


def test_an_api_key_from_the_environment_is_used(maestro, tenant):
    key = tenant.admin.post("/v1/api-keys", json={"name": "ci", "role": "viewer"}).json()["key"]
    me = _json(maestro("whoami", "--json", env={"MAESTRO_API_KEY": key}))
    assert me["principal_type"] == "key" and me["role"] == "viewer"
    # a viewer may not create projects: 403 is exit 3
    denied = maestro(
        "projects",
        "create",
        "--name",
        "x",
        "--problem-class",
        "classification",
        "--complexity-score",
        "3",
        "--team-size",
        "2",
        env={"MAESTRO_API_KEY": key},
    )
    assert denied.returncode == AUTH, denied.stderr.decode()


def test_an_expired_or_rejected_access_token_is_refreshed_and_saved(logged_in):
    maestro, tenant = logged_in
    before = json.loads(maestro.credentials.read_text())

    # The access token is past its expiry: refreshed before the call.
    maestro.credentials.write_text(json.dumps({**before, "expires_at": time.time() - 60}))
    assert _json(maestro("whoami", "--json"))["user"]["email"] == tenant.email
    after_expiry = json.loads(maestro.credentials.read_text())
    assert after_expiry["refresh_token"] != before["refresh_token"]
    assert after_expiry["access_token"] != before["access_token"] and after_expiry["expires_at"] > time.time() + 600
    assert stat.S_IMODE(maestro.credentials.stat().st_mode) == 0o600

    # The server refuses the access token (401): refreshed once and the call repeated.
    maestro.credentials.write_text(json.dumps({**after_expiry, "access_token": "not-a-jwt"}))
    assert _json(maestro("projects", "list", "--json"))["items"] == []
    assert json.loads(maestro.credentials.read_text())["refresh_token"] != after_expiry["refresh_token"]


def test_logout_ends_the_session_and_forgets_the_tokens(logged_in, api_url):
    from tests.integration.conftest import ApiClient

    maestro, _ = logged_in
    refresh_token = json.loads(maestro.credentials.read_text())["refresh_token"]
    assert maestro("logout").returncode == OK and not maestro.credentials.exists()
    assert maestro("whoami").returncode == AUTH
    assert ApiClient(api_url).post("/v1/auth/refresh", json={"refresh_token": refresh_token}).status_code == 401


# ---------------------------------------------------------------- projects
def test_projects_create_list_show_and_a_missing_one_exits_4(logged_in):
    maestro, _ = logged_in
    created = [_project(maestro, f"project {n}") for n in range(3)]
    assert all(p["id"] for p in created)

    listed = _json(maestro("projects", "list", "--json"))["items"]
    assert {p["id"] for p in listed} == {p["id"] for p in created}
    # --limit caps the items; paging underneath is the client's
    assert len(_json(maestro("projects", "list", "--limit", "2", "--json"))["items"]) == 2

    table = maestro("projects", "list")
    assert table.returncode == OK and "project 1" in table.stdout.decode() and "classification" in table.stdout.decode()
    assert _json(maestro("projects", "show", created[0]["id"], "--json"))["name"] == "project 0"

    missing = maestro("--json", "projects", "show", "prj_does_not_exist")
    assert missing.returncode == NOT_FOUND and json.loads(missing.stderr)["status"] == 404
    after = maestro("projects", "show", "prj_does_not_exist", "--json")  # --json after the command works too
    assert after.returncode == NOT_FOUND and json.loads(after.stderr)["detail"] == missing_detail(missing)


def test_invalid_fields_exit_2_and_usage_errors_exit_1(logged_in):
    maestro, _ = logged_in
    invalid = maestro(
        "--json",
        "projects",
        "create",
        "--name",
        "x",
        "--problem-class",
        "classification",
        "--complexity-score",
        "5",
        "--team-size",
        "4",
        "--repository",
        "not a repository",
    )
    assert invalid.returncode == API
    problem = json.loads(invalid.stderr)
    assert problem["status"] == 422 and any(e["field"].startswith("repositories") for e in problem["errors"])

    # an enum is checked before any request, naming its choices (and --help lists them)
    unknown = maestro(
        "projects", "create", "--name", "x", "--problem-class", "astrology", "--complexity", "5", "--team-size", "4"
    )
    assert unknown.returncode == USAGE and "anomaly_detection" in unknown.stderr.decode()
    assert "computer_vision" in maestro("projects", "create", "--help").stdout.decode()

    assert maestro("projects", "create", "--name", "x").returncode == USAGE  # required options missing
    assert maestro("projects", "frobnicate").returncode == USAGE
    assert maestro("artifacts", "push", "no-such-file.bin", "--type", "model", "--version", "1.0.0").returncode == USAGE


# ---------------------------------------------------------------- artifacts
def test_push_uploads_verifies_and_pull_returns_the_same_bytes(logged_in, dispatcher, tmp_path):
    maestro, tenant = logged_in
    data = os.urandom(300_000) + b"weights"
    source = tmp_path / f"churn-{uuid.uuid4().hex[:6]}.onnx"
    source.write_bytes(data)

    pushed = _json(
        maestro(
            "artifacts",
            "push",
            str(source),
            "--type",
            "model",
            "--version",
            "1.0.0",
            "--description",
            "first cut",
            "--json",
        )
    )
    assert pushed["status"] == "ready" and pushed["integrity"] == "intact"
    assert pushed["sha256"] == hashlib.sha256(data).hexdigest() and pushed["size_bytes"] == len(data)
    artifact_id = pushed["artifact_id"]
    artifact = tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()
    assert artifact["name"] == source.name and artifact["type"] == "model" and artifact["latest_version"] == "1.0.0"

    # A second version goes to the same artifact (found by name and type), with the progress bar on stderr.
    source.write_bytes(data[::-1])
    second = maestro("artifacts", "push", str(source), "--type", "model", "--version", "1.1.0")
    assert second.returncode == OK, second.stderr.decode()
    assert "ready" in second.stdout.decode() and source.name in second.stderr.decode()
    assert tenant.admin.get(f"/v1/artifacts/{artifact_id}").json()["latest_version"] == "1.1.0"

    out_dir = tmp_path / "pulled"
    out_dir.mkdir()
    pulled = _json(
        maestro("artifacts", "pull", artifact_id, "--version", "1.0.0", "-o", str(out_dir / "v1.onnx"), "--json")
    )
    assert (out_dir / "v1.onnx").read_bytes() == data and pulled["sha256"] == hashlib.sha256(data).hexdigest()
    # By name, latest version, into a directory under the pushed file's name.
    latest = maestro("artifacts", "pull", source.name, "--type", "model", "-o", str(out_dir))
    assert latest.returncode == OK, latest.stderr.decode()
    assert (out_dir / source.name).read_bytes() == data[::-1]

    shown = _json(maestro("artifacts", "show", artifact_id, "--json"))
    assert sorted(v["version"] for v in shown["versions"]) == ["1.0.0", "1.1.0"]

    # An existing version is immutable: 409 is exit 2.
    again = maestro("artifacts", "push", str(source), "--type", "model", "--version", "1.1.0")
    assert again.returncode == API, again.stderr.decode()
    assert maestro("artifacts", "pull", "art_nope").returncode == NOT_FOUND


def test_search_finds_artifacts_by_keyword(logged_in):
    maestro, tenant = logged_in
    word = f"zebrafish{uuid.uuid4().hex[:6]}"
    for name, tags in ((f"{word} feature pipeline", ["tabular"]), ("unrelated schema", [])):
        response = tenant.admin.post(
            "/v1/artifacts",
            json={"name": name, "type": "feature_pipeline", "tags": tags, "description": "a test artifact"},
        )
        assert response.status_code == 201, response.text
    found = _json(maestro("artifacts", "search", word, "--mode", "keyword", "--json"))["items"]
    assert [a["name"] for a in found] == [f"{word} feature pipeline"]
    by_tag = _json(maestro("artifacts", "search", "--tag", "tabular", "--json"))["items"]
    assert [a["name"] for a in by_tag] == [f"{word} feature pipeline"]
    table = maestro("artifacts", "search", word, "--mode", "keyword")
    assert table.returncode == OK and word in table.stdout.decode()


def test_update_deprecate_and_delete_an_artifact_by_name(logged_in):
    maestro, tenant = logged_in
    word = f"okapi{uuid.uuid4().hex[:6]}"
    old, new = f"{word} imputer", f"{word} imputer v2"
    created = {}
    for name in (old, new):
        response = tenant.admin.post("/v1/artifacts", json={"name": name, "type": "feature_pipeline"})
        assert response.status_code == 201, response.text
        created[name] = response.json()["id"]
    replacement_id = created[new]

    updated = _json(
        maestro("artifacts", "update", old, "--description", "fills gaps", "--tag", "impute", "--tag", "knn", "--json")
    )
    assert updated["description"] == "fills gaps" and updated["tags"] == ["impute", "knn"]
    assert updated["revision"] == 2  # guarded by the revision it read: one edit, one revision
    assert maestro("artifacts", "update", old).returncode == USAGE  # nothing to change

    deprecated = _json(maestro("artifacts", "deprecate", old, "--reason", "superseded", "--replacement", new, "--json"))
    assert deprecated["deprecated"]["reason"] == "superseded"
    assert deprecated["deprecated"]["replacement_id"] == replacement_id
    keyword = ("artifacts", "search", word, "--mode", "keyword", "--json")
    assert [a["name"] for a in _json(maestro(*keyword))["items"]] == [new]
    assert {a["name"] for a in _json(maestro(*keyword, "--include-deprecated"))["items"]} == {old, new}
    shown = maestro("artifacts", "show", old).stdout.decode()
    assert "superseded" in shown and replacement_id in shown
    assert maestro("artifacts", "deprecate", old).returncode == USAGE  # no reason
    _json(maestro("artifacts", "deprecate", old, "--undo", "--json"))
    assert {a["name"] for a in _json(maestro(*keyword))["items"]} == {old, new}

    deleted = maestro("artifacts", "delete", old, "--yes")
    assert deleted.returncode == OK and "Deleted artifact" in deleted.stdout.decode()
    assert [a["name"] for a in _json(maestro(*keyword, "--include-deprecated"))["items"]] == [new]
    gone = maestro("--json", "artifacts", "show", old)
    assert gone.returncode == NOT_FOUND and missing_detail(gone) == f"no artifact has the id or name {old!r}"
    assert maestro("artifacts", "delete", old, "--yes").returncode == NOT_FOUND
    # A name artifacts of two types share is refused without --type.
    assert tenant.admin.post("/v1/artifacts", json={"name": new, "type": "schema"}).status_code == 201
    assert maestro("artifacts", "show", new).returncode == USAGE
    assert _json(maestro("artifacts", "show", new, "--type", "schema", "--json"))["type"] == "schema"
    # Without --yes the CLI asks; declining deletes nothing.
    declined = maestro("artifacts", "delete", new, "--type", "feature_pipeline", stdin="n\n")
    assert declined.returncode != OK and tenant.admin.get(f"/v1/artifacts/{replacement_id}").status_code == 200


# ---------------------------------------------------------------- metrics
def test_metrics_push_from_jsonl_counts_and_replays_are_duplicates(logged_in, tmp_path):
    maestro, _ = logged_in
    project_id = _project(maestro)["id"]
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"metric_type": "commits", "value": 1, "timestamp": f"2026-05-0{d}T09:00:00Z"}) + "\n"
            for d in range(1, 6)
        )
    )
    first = _json(maestro("metrics", "push", str(events), "--project", project_id, "--json"))
    assert (first["format"], first["accepted"], first["duplicates"], first["rejected_count"]) == ("jsonl", 5, 0, 0)
    again = _json(maestro("metrics", "push", "--project", project_id, "--json", stdin=events.read_bytes()))
    assert (again["accepted"], again["duplicates"]) == (0, 5)

    bad = maestro(
        "metrics",
        "push",
        "--project",
        project_id,
        "--json",
        stdin=json.dumps({"metric_type": "commits", "value": -3, "timestamp": "2026-05-09T09:00:00Z"}),
    )
    assert bad.returncode == FAILED and json.loads(bad.stdout)["rejected_count"] == 1
    assert maestro("metrics", "push", "--project", project_id, stdin="{not json\n").returncode == USAGE
    # --project takes a name as well as an id, as `artifacts use` does; an unknown one is 4 before anything is sent
    by_name = _json(maestro("metrics", "push", str(events), "--project", "churn model", "--json"))
    assert (by_name["accepted"], by_name["duplicates"]) == (0, 5)
    assert maestro("metrics", "push", str(events), "--project", "no such project").returncode == NOT_FOUND


def test_metrics_push_takes_git_log_output_from_a_pipe(logged_in, dispatcher, tmp_path):
    maestro, tenant = logged_in
    project_id = _project(maestro)["id"]
    repo = tmp_path / "repo"
    repo.mkdir()
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@acme.example",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@acme.example",
    }

    def git(*args, when=None):
        env = {**git_env, **({"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else {})}
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True).stdout

    git("init", "-q")
    start = datetime.now(UTC) - timedelta(days=3)
    for n in range(3):
        (repo / f"file{n}.py").write_text("x = 1\n" * (n + 1))
        git("add", ".")
        git("commit", "-q", "-m", f"commit {n}", when=(start + timedelta(hours=n)).isoformat())
    log = git("log", "--numstat", "--date=iso-strict")

    # the command waits for the drop to be ingested and prints its manifest
    pushed = _json(maestro("metrics", "push", "--project", project_id, "--json", stdin=log))
    assert pushed["format"] == "gitlog" and pushed["status"] == "ingested", pushed
    assert pushed["manifest"]["accepted"] > 0 and pushed["manifest"]["rejected"] == 0
    params = {"type": "commits", "from": (start - timedelta(days=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
    series = tenant.admin.get(f"/v1/projects/{project_id}/metrics", params=params).json()
    assert sum(point["sum"] for point in series["points"]) == 3, series

    again = maestro("metrics", "push", "--project", project_id, stdin=log)
    assert again.returncode == OK, again.stderr.decode()
    assert "accepted" in again.stdout.decode() and "duplicates" in again.stdout.decode()
    queued = _json(maestro("metrics", "push", "--project", project_id, "--no-wait", "--json", stdin=log))
    assert queued["status"] == "queued" and "manifest" not in queued


# ---------------------------------------------------------------- audit
def test_audit_verify_reports_an_intact_chain(logged_in):
    maestro, _ = logged_in
    _project(maestro)
    result = _json(maestro("audit", "verify", "--json"))
    assert result["intact"] is True and result["checked"] >= 2
    human = maestro("audit", "verify")
    assert human.returncode == OK and "intact" in human.stdout.decode()
    listed = _json(maestro("audit", "list", "--action", "project.create", "--json"))["items"]
    assert [e["action"] for e in listed] == ["project.create"]
    # a bare date is sent as midnight UTC (the API refuses a time without a zone): today's event is in, not out
    since_2020 = _json(maestro("audit", "list", "--action", "project.create", "--from", "2020-01-01", "--json"))
    assert since_2020["items"] == listed
    assert _json(maestro("audit", "list", "--action", "project.create", "--to", "2020-01-01", "--json"))["items"] == []


# ---------------------------------------------------------------- meta-learning (routes built in parallel)
def _skip_unless_served(tenant, method, path, body=None):
    """Skip while the route answers the gateway's 404 for unknown routes ("no such route or method")."""
    response = tenant.admin.request(method, path, json=body)
    if response.status_code in (404, 405) and "no such route" in response.text:
        pytest.skip(f"{method} {path} is not served yet (the meta-learning routes are being built in parallel)")


def test_predict_and_recommend_for_a_project(logged_in):
    maestro, tenant = logged_in
    project_id = _project(maestro)["id"]
    _skip_unless_served(tenant, "POST", "/v1/predictions", {"project_id": project_id})
    prediction = _json(maestro("predict", "--project", project_id, "--json"))
    assert prediction["basis"] in ("model", "prior")
    assert set(prediction["targets"]) <= {"success_score", "duration_days", "compute_cost_usd"}
    assert maestro("predict", "--project", project_id).returncode == OK

    _skip_unless_served(tenant, "POST", "/v1/recommendations", {"project_id": project_id})
    recommendation = _json(maestro("recommend", "--project", project_id, "--limit", "5", "--json"))
    assert "artifacts" in recommendation and recommendation["basis"]
    assert maestro("recommend", "--project", project_id).returncode == OK
    by_name = _json(maestro("predict", "--project", "churn model", "--json"))
    assert by_name["project_id"] == project_id
    assert maestro("predict").returncode == USAGE


def test_models_retrain_waits_for_the_job(logged_in, dispatcher):
    maestro, tenant = logged_in
    _skip_unless_served(tenant, "GET", "/v1/models/meta")
    result = maestro("models", "retrain", "--wait", "--timeout", "240", "--json")
    assert result.returncode == OK, result.stderr.decode()
    job = json.loads(result.stdout)
    # a handful of projects: the job succeeds and says the models need more history
    assert job["state"] == "succeeded" and job["detail"]["outcome"] == "insufficient_history"
    shown = maestro("models", "retrain", "--wait", "--timeout", "240")
    assert shown.returncode == OK, shown.stderr.decode()
    assert "retrain job_" in shown.stderr.decode() and "100%" in shown.stderr.decode()  # the progress bar
    assert "succeeded" in shown.stdout.decode()
    assert "Not trained: " in shown.stdout.decode() and "the models need 40" in shown.stdout.decode()
    table = maestro("models", "show")
    assert table.returncode == OK, table.stderr.decode()
    text = table.stdout.decode()
    assert "Basis: prior" in text and "Outcome models" in text and "compute_cost_usd" in text
