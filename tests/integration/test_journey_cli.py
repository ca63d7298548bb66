"""A team's real history, end to end through the CLI on the local stack (moto server, the API, the dispatcher
delivering S3 and EventBridge events, a real MLflow server):

1. `maestro projects import history.csv`: 70 past projects over several years, with members, usages and outcomes;
2. `maestro models retrain --wait`: trained on them (no project left out silently);
3. `maestro predict`: basis model, every target's point inside its own 80% and 90% intervals;
4. `maestro recommend`: the current plan's figures are the prediction's;
5. `maestro metrics push` of a real `git log --numstat --date=iso-strict` (tests/data/git: escape-string-regexp,
   2014-2025, MIT) prints its manifest, and the project's git report over its whole life counts the commits
   `git rev-list --count` counted.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.integration.conftest import PROFILE
from tests.integration.test_cli import OK, _json
from tests.integration.test_usage_and_impact import _ready_version

pytestmark = pytest.mark.integration
GIT_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "git"
TARGETS = ("success_score", "duration_days", "compute_cost_usd")


def _history_csv(path: Path, tenant) -> int:
    """A team's history as the documented CSV (docs/project-import.md), its artifacts made in the library first."""
    from maestro.domain.meta.synthetic import generate_history

    history = generate_history(n_projects=70, n_artifacts=30, seed=7)
    library = {a.artifact_id: a for a in history.artifacts}
    made: dict[str, str] = {}
    versions: set[tuple[str, str]] = set()
    rows = []
    for project in history.projects:
        usages = []
        for usage in (u for u in project.usages if u.planned):
            spec = library[usage.artifact_id]
            if spec.artifact_id not in made:
                created = tenant.admin.post("/v1/artifacts", json={"name": spec.name, "type": spec.artifact_type})
                assert created.status_code == 201, created.text
                made[spec.artifact_id] = created.json()["id"]
            if (spec.artifact_id, usage.version) not in versions:
                _ready_version(tenant.admin, made[spec.artifact_id], usage.version, content=usage.version.encode())
                versions.add((spec.artifact_id, usage.version))
            usages.append(f"{spec.artifact_type}/{spec.name}|{usage.version}")
        outcome = project.outcome
        rows.append(
            {
                "external_id": project.project_id,
                "name": f"{project.problem_class} {project.project_id}",
                "description": project.description,
                "problem_class": project.problem_class,
                "complexity_score": project.complexity_score,
                "team_size": project.team_size,
                "start_date": project.start_date.date().isoformat(),
                "model_performance": outcome.model_performance,
                "business_impact_usd": outcome.business_impact_usd,
                "duration_days": outcome.duration_days,
                "compute_cost_usd": outcome.compute_cost_usd,
                "completed_at": project.end_date.isoformat(),
                "members": ";".join(
                    f"{m.member_id}|{m.role}|{m.experience}|{m.hours_per_week:g}" for m in project.members
                ),
                "usages": ";".join(usages),
            }
        )
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    years = {r["start_date"][:4] for r in rows}
    assert len(years) >= 3 and any(r["usages"] for r in rows) and all(r["members"] for r in rows)
    return len(rows)


def test_a_teams_history_from_import_to_a_learned_prediction_and_a_whole_life_git_report(
    logged_in, dispatcher, mlflow_tracking, tmp_path
):
    from maestro.services.meta import champions

    champions.CHAMPION_TTL_SECONDS = 0.0  # serving reads the new champion pointers at once (in AWS: every 30 s)
    maestro, tenant = logged_in

    # 1. import
    history = tmp_path / "history.csv"
    rows = _history_csv(history, tenant)
    imported = maestro("projects", "import", str(history), timeout=600)
    assert imported.returncode == OK, imported.stderr.decode()
    assert f"{rows}/{rows}" in imported.stderr.decode()  # the progress bar
    assert "created" in imported.stdout.decode() and f"{rows} rows" in imported.stdout.decode()
    again = _json(maestro("projects", "import", str(history), "--json", timeout=600))
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": rows, "rejected_count": 0}

    # 2. retrain
    trained = maestro("models", "retrain", "--wait", "--timeout", "900", timeout=960)
    assert trained.returncode == OK, (trained.stdout.decode(), trained.stderr.decode())
    meta = tenant.admin.get("/v1/models/meta").json()
    assert meta["basis"] == "model", meta
    assert meta["training_data"]["used"] == rows and sum(meta["training_data"]["left_out"].values()) == 0
    shown = maestro("models", "show", "--json")
    assert _json(shown)["training_data"] == meta["training_data"]
    table = maestro("models", "show").stdout.decode()
    assert f"Training data: {rows} of {meta['training_data']['projects']} projects used" in table
    for target in TARGETS:
        champion = meta["targets"][target]["champion"]
        assert champion["data_size"] == rows  # the table's Projects column is the API's data_size
        assert meta["targets"][target]["serves"] in ("searched", "baseline:tenant_mean", "baseline:ridge")
    assert "Serves" in table

    # 3. predict
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PROFILE))
    predicted = _json(maestro("predict", "--profile", str(plan), "--json"))
    assert predicted["basis"] == "model"
    for target in TARGETS:
        answer = predicted["targets"][target]
        low80, high80 = answer["intervals"]["80"]
        low90, high90 = answer["intervals"]["90"]
        assert low90 <= low80 <= answer["point"] <= high80 <= high90, (target, answer)

    # 4. recommend agrees
    recommended = _json(maestro("recommend", "--profile", str(plan), "--json"))
    current = recommended["team"]["current"]["predicted"]
    assert current["duration_days"] == predicted["targets"]["duration_days"]["point"]
    assert current["success_score"] == predicted["targets"]["success_score"]["point"]
    assert current["duration_80"] == predicted["targets"]["duration_days"]["intervals"]["80"]
    assert current["success_90"] == predicted["targets"]["success_score"]["intervals"]["90"]

    # 5. a real repository's git log, older than 3 years
    source = json.loads((GIT_FIXTURE / "escape-string-regexp.json").read_text())
    assert source["first_commit"] < "2016" and "MIT" in source["licence"]
    project = _json(
        maestro(
            "projects",
            "create",
            "--name",
            "escape-string-regexp",
            "--problem-class",
            "other",
            "--complexity",
            "2",
            "--team-size",
            "1",
            "--json",
        )
    )
    pushed = maestro("metrics", "push", str(GIT_FIXTURE / "escape-string-regexp.gitlog"), "--project", project["id"])
    assert pushed.returncode == OK, (pushed.stdout.decode(), pushed.stderr.decode())
    manifest_table = pushed.stdout.decode()
    assert "accepted" in manifest_table and "rejected" in manifest_table and "gitlog" in manifest_table
    git = tenant.admin.get(f"/v1/projects/{project['id']}/git").json()
    assert git["commits"] == source["rev_list_count"]
    assert git["period"]["start"][:10] <= source["first_commit"][:10]
    assert sum(p["commits"] for p in git["commit_series"]["points"]) == source["rev_list_count"]
    assert len(git["commit_series"]["points"]) <= 400
    # ... and the CLI's report of it, by the project's name, says what the API says
    report = maestro("metrics", "report", "--project", "escape-string-regexp")
    assert report.returncode == OK, report.stderr.decode()
    text = report.stdout.decode()
    assert f"Git: {git['commits']} commits" in text and f"by {git['active_contributors']} contributor" in text
    assert "CI: no pipeline runs in this period" in text  # a git log has no CI: said, not a row of dashes
    reported = _json(maestro("metrics", "report", "--project", project["id"], "--json"))
    assert reported["git"]["commits"] == git["commits"] and reported["velocity"]["project_id"] == project["id"]
