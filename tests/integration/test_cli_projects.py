"""The CLI closes the loop: signup, `projects import` (progress, summary table, --dry-run, idempotent), `projects
show|update|delete` by id or name, `projects outcome`, `projects members add|list|remove`, `artifacts use`, and
help text on every command. Each command runs as its own process against the local API (tests/integration)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import click
import pytest

from tests.integration.conftest import STRONG_PASSWORD
from tests.integration.test_cli import API, FAILED, NOT_FOUND, OK, USAGE, _json, _project
from tests.integration.test_usage_and_impact import _ready_version

pytestmark = pytest.mark.integration
SAMPLE_CSV = Path(__file__).resolve().parents[2] / "docs" / "project-import-sample.csv"


def test_signup_creates_a_tenant_and_logs_in(maestro):
    email = f"first-{uuid.uuid4().hex[:8]}@new.example"
    result = maestro(
        "signup",
        "--tenant-name",
        "New Co",
        "--email",
        email,
        "--name",
        "First",
        "--password-stdin",
        stdin=STRONG_PASSWORD + "\n",
    )
    assert result.returncode == OK, result.stderr.decode()
    me = _json(maestro("whoami", "--json"))
    assert me["user"]["email"] == email and me["role"] == "admin"


def test_import_a_csv_with_dry_run_progress_summary_and_an_idempotent_second_run(logged_in, dispatcher, tmp_path):
    maestro, tenant = logged_in
    for name, kind, version in (
        ("Customer RFM features", "feature_pipeline", "1.0.0"),
        ("Gradient boosting baseline", "model_template", "2.1.0"),
    ):
        artifact_id = tenant.admin.post("/v1/artifacts", json={"name": name, "type": kind}).json()["id"]
        _ready_version(tenant.admin, artifact_id, version)
    rows = sum(1 for line in SAMPLE_CSV.read_text().splitlines()[1:] if line.strip())

    dry = maestro("projects", "import", str(SAMPLE_CSV), "--dry-run")
    assert dry.returncode == OK, dry.stderr.decode()
    assert "Dry run" in dry.stdout.decode() and "created" in dry.stdout.decode()
    assert tenant.admin.get("/v1/projects").json()["items"] == []

    first = maestro("projects", "import", str(SAMPLE_CSV))
    assert first.returncode == OK, first.stderr.decode()
    table = first.stdout.decode()
    assert "Result" in table and "created" in table and f"{rows} rows" in table
    assert f"{rows}/{rows}" in first.stderr.decode()  # the progress bar reached every row
    again = _json(maestro("projects", "import", str(SAMPLE_CSV), "--json"))
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": rows, "rejected_count": 0}
    listed = tenant.admin.get("/v1/projects", params={"limit": 100}).json()["items"]
    assert len(listed) == rows

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"external_id": "b1", "name": "b", "problem_class": "nope", "complexity_score": 3, "team_size": 1}\n'
    )
    refused = maestro("projects", "import", str(bad))
    assert refused.returncode == FAILED
    assert "problem_class" in refused.stdout.decode() and "b1" in refused.stdout.decode()


def test_show_update_outcome_members_use_and_delete_by_name(logged_in):
    maestro, tenant = logged_in
    project = _project(maestro, "fraud scoring")
    assert _json(maestro("projects", "show", "fraud scoring", "--json"))["id"] == project["id"]
    shown = maestro("projects", "show", "fraud scoring")
    assert shown.returncode == OK and "complexity" in shown.stdout.decode()

    updated = _json(
        maestro("projects", "update", "fraud scoring", "--team-size", "6", "--start-date", "2024-01-08", "--json")
    )
    assert (updated["team_size"], updated["start_date"]) == (6, "2024-01-08")

    added = _json(
        maestro(
            "projects",
            "members",
            "add",
            project["id"],
            "--name",
            "Ada",
            "--role",
            "ml_scientist",
            "--level",
            "senior",
            "--hours",
            "30",
            "--json",
        )
    )
    listed = _json(maestro("projects", "members", "list", "fraud scoring", "--json"))["items"]
    assert [m["display_name"] for m in listed] == ["Ada"]
    assert "Ada" in maestro("projects", "members", "list", "fraud scoring").stdout.decode()
    bad_role = maestro(
        "projects", "members", "add", project["id"], "--name", "Bo", "--role", "wizard", "--level", "mid"
    )
    assert bad_role.returncode == USAGE and "ml_engineer" in bad_role.stderr.decode()
    assert maestro("projects", "members", "remove", "fraud scoring", added["id"]).returncode == OK
    assert _json(maestro("projects", "members", "list", "fraud scoring", "--json"))["items"] == []

    artifact_id = tenant.admin.post(
        "/v1/artifacts", json={"name": "fraud features", "type": "feature_pipeline"}
    ).json()["id"]
    _ready_version(tenant.admin, artifact_id, "1.0.0")
    used = maestro("artifacts", "use", "fraud features", "--project", "fraud scoring", "--version", "1.0.0")
    assert used.returncode == OK, used.stderr.decode()
    usages = tenant.admin.get(f"/v1/projects/{project['id']}/artifacts").json()["items"]
    assert [(u["artifact_id"], u["version"]) for u in usages] == [(artifact_id, "1.0.0")]

    outcome = ("projects", "outcome", "fraud scoring", "--model-performance", "0.8", "--business-impact-usd", "1000")
    too_early = maestro(*outcome, "--duration-days", "30", "--compute-cost-usd", "50", "--completed-at", "2023-01-01")
    assert too_early.returncode == API and "start_date" in too_early.stderr.decode()
    closed = _json(
        maestro(*outcome, "--duration-days", "60", "--compute-cost-usd", "50", "--completed-at", "2024-03-08", "--json")
    )
    assert closed["status"] == "completed" and closed["success_score"] is not None

    assert maestro("projects", "delete", "fraud scoring", "--yes").returncode == OK
    gone = maestro("--json", "projects", "show", project["id"])
    assert gone.returncode == NOT_FOUND and json.loads(gone.stderr)["status"] == 404
    assert maestro("projects", "show", "no such project").returncode == NOT_FOUND


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_and_option_has_help_text():
    from maestro_client.cli import cli

    missing = []
    for path, command in _commands(cli):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and param.name not in ("json_flag",):
                missing.append(f"{' '.join(path)} --{param.name}")
    assert not missing, f"no help text: {missing}"
