"""Meta-learning end to end on the local stack: a seeded history, retraining through the API (the local
dispatcher delivers the job's event to the retrain handler) and through the schedule handler, features from Feast
(offline Parquet in the moto bucket, online DynamoDB), runs and models in a real `mlflow server` whose artifacts
land in the same bucket, the champion alias, ONNX serving picking the new version up, priors below the minimum,
and stored predictions scored when the outcome arrives."""

import math
import time
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import PROFILE, SEEDED_PROJECTS, create_project, wait_for_job

pytestmark = pytest.mark.integration

TARGETS = ("success_score", "duration_days", "compute_cost_usd")


@pytest.fixture(scope="module")
def history_tenant(trained_tenant):
    return trained_tenant.tenant, trained_tenant.history


@pytest.fixture(scope="module")
def first_retrain(trained_tenant):
    return trained_tenant.before, trained_tenant.accepted, trained_tenant.job


def test_a_tenant_below_the_minimum_gets_priors_never_made_up_figures(tenant):
    empty = tenant.admin.post("/v1/predictions", json={"profile": PROFILE})
    assert empty.status_code == 200, empty.text
    body = empty.json()
    assert body["basis"] == "prior"
    for target in TARGETS:
        answer = body["targets"][target]
        assert answer["point"] is None and answer["intervals"] == {"80": None, "90": None}
        assert answer["model_version"] is None and answer["basis"] == "prior"

    for n, (score, days) in enumerate([(0.9, 30.0), (0.7, 60.0), (0.8, 45.0)]):
        project = create_project(tenant.admin, f"p{n}", "regression", complexity_score=4)
        recorded = tenant.admin.put(
            f"/v1/projects/{project['id']}/outcome",
            json={
                "model_performance": score,
                "business_impact_usd": 1000.0,
                "duration_days": days,
                "compute_cost_usd": 100.0 * (n + 1),
                "completed_at": "2026-10-01T00:00:00Z",
            },
        )
        assert recorded.status_code == 200, recorded.text
    prior = tenant.admin.post("/v1/predictions", json={"profile": PROFILE}).json()
    duration = prior["targets"]["duration_days"]
    assert prior["basis"] == "prior" and duration["completed_projects"] == 3
    # the log-scale mean of 30, 60 and 45 days, and a Student-t interval (2 degrees of freedom): wide
    assert duration["point"] == pytest.approx((30 * 60 * 45) ** (1 / 3), rel=1e-3)
    low80, high80 = duration["intervals"]["80"]
    low90, high90 = duration["intervals"]["90"]
    assert low90 < low80 < duration["point"] < high80 < high90
    assert high90 / low90 > 3
    assert "fewer than 40 completed projects" in prior["note"]


def test_retraining_through_the_api_trains_registers_and_serves_the_champion(
    history_tenant, first_retrain, mlflow_tracking
):
    from mlflow import MlflowClient

    from maestro.jobs.retrain import registered_model_name

    tenant, _ = history_tenant
    before, accepted, job = first_retrain
    assert before["basis"] == "prior"
    assert accepted["state"] == "queued"
    assert job["state"] == "succeeded", job
    detail = job["detail"]
    assert detail["outcome"] == "trained" and detail["training_rows"] == SEEDED_PROJECTS
    assert detail["feature_rows"] == SEEDED_PROJECTS and len(detail["dataset_fingerprint"]) == 64

    client = MlflowClient(tracking_uri=mlflow_tracking)
    for target in TARGETS:
        summary = detail["targets"][target]
        assert summary["champion"]["moved"] is True and summary["champion"]["reason"] == "no champion yet"
        name = registered_model_name(tenant.tenant_id, target)
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.version == summary["version"] == "1"
        run = client.get_run(summary["run_id"])
        assert run.data.params["dataset_fingerprint"] == detail["dataset_fingerprint"]
        assert run.data.params["feature_source"] == "feast:get_historical_features"
        assert "baseline.tenant_mean.holdout_mae" in run.data.metrics
        assert "baseline.ridge.holdout_mae" in run.data.metrics
        assert any(key.startswith("candidate.") for key in run.data.metrics)
        assert run.data.tags["maestro.champion_decision"] == "moved"
        artifacts = {a.path for a in client.list_artifacts(summary["run_id"])}
        assert {"features.json", "champion_decision.json", "serving_manifest.json"} <= artifacts

    overview = tenant.admin.get("/v1/models/meta").json()
    assert overview["basis"] == "model"
    for target in TARGETS:
        champion = overview["targets"][target]["champion"]
        assert champion["version"] == "1" and champion["data_size"] == SEEDED_PROJECTS
        assert champion["holdout"]["mae"] > 0 and set(champion["baselines"]) == {"tenant_mean", "ridge"}
        # the hold-out coverage comes with how precisely so few projects can measure it
        assert champion["holdout_projects"] == math.ceil(SEEDED_PROJECTS * 0.2)
        expected_error = round(math.sqrt(0.8 * 0.2 / champion["holdout_projects"]), 4)
        assert champion["coverage_standard_error"]["80"] == expected_error

    after = tenant.admin.post("/v1/predictions", json={"profile": PROFILE})
    assert after.status_code == 200, after.text
    answer = after.json()
    assert answer["basis"] == "model" and "commits_per_week" in answer["imputed_features"]
    for target in TARGETS:
        estimate = answer["targets"][target]
        assert estimate["model_version"] == "1"
        low80, high80 = estimate["intervals"]["80"]
        low90, high90 = estimate["intervals"]["90"]
        assert low90 <= low80 <= high80 <= high90 and low80 <= estimate["point"] <= high80
        assert estimate["top_contributions"] and all("feature" in c for c in estimate["top_contributions"])
    assert 0 <= answer["targets"]["success_score"]["point"] <= 100


def test_the_feature_store_holds_the_cutoff_rows_the_model_was_trained_on(history_tenant, first_retrain):
    from maestro.domain.meta.history import FEATURE_NAMES, features
    from maestro.repositories import projects as project_store
    from maestro.repositories.online_features import read_online_features
    from maestro.services.meta.tenant_history import project_record

    tenant, history = history_tenant
    project_id = history.projects[-1].project_id
    online = read_online_features(tenant.tenant_id, [project_id], FEATURE_NAMES)[project_id]
    # the stored project (its start is a date: the cut-off is 14 days after that midnight), at its cut-off
    stored = project_record(tenant.tenant_id, project_store.get_project(tenant.tenant_id, project_id))
    computed = features(stored)
    for name in FEATURE_NAMES:
        # what depends on published impact effects comes from the 30-day snapshot before the cut-off
        if name not in ("reuse_known_share", "reuse_impact_mean", "reuse_impact_sum"):
            assert online[name] == pytest.approx(computed[name], rel=1e-9), name


def test_recommendations_rank_live_artifacts_with_reasons_and_compare_team_shapes(history_tenant, first_retrain):
    tenant, history = history_tenant
    response = tenant.admin.post("/v1/recommendations", json={"profile": PROFILE, "limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["basis"] == "model" and len(body["artifacts"]) == 5
    deprecated = history.deprecated()
    assert not {a["artifact_id"] for a in body["artifacts"]} & deprecated
    assert all(a["reasons"] and a["name"] for a in body["artifacts"])
    scores = [a["score"] for a in body["artifacts"]]
    assert scores == sorted(scores, reverse=True)
    team = body["team"]
    assert team["current"]["shape"]["team_size"] == 4
    assert team["recommended"]["predicted"]["success_score"] >= team["current"]["predicted"]["success_score"]
    assert team["recommended"]["predicted"]["duration_days"] <= team["current"]["predicted"]["duration_days"]


SCHEDULED_EVENT = {
    "source": "aws.events",
    "detail-type": "Scheduled Event",
    "detail": {},
    "time": "2026-11-26T02:00:00Z",
    "resources": [],
    "id": "schedule",
    "region": "us-east-1",
    "account": "000000000000",
    "version": "0",
}


def _scheduled_retrain(tenant):
    import app
    from infra.local.dispatcher import LambdaContextStub

    results = app.retrain_meta_models_scheduled(SCHEDULED_EVENT, LambdaContextStub("retrain_meta_models_scheduled"))
    return next(r for r in results if r["tenant_id"] == tenant.tenant_id)


def test_retraining_keeps_the_champion_unless_the_challenger_is_better(history_tenant, first_retrain, mlflow_tracking):
    from mlflow import MlflowClient

    from maestro.jobs.retrain import registered_model_name

    tenant, _ = history_tenant
    client = MlflowClient(tracking_uri=mlflow_tracking)

    def alias(target):
        return client.get_model_version_by_alias(registered_model_name(tenant.tenant_id, target), "champion").version

    # 1. The schedule: nothing completed since the champions were trained, so nothing is retrained.
    unchanged = _scheduled_retrain(tenant)
    assert unchanged["outcome"] == "unchanged" and "targets" not in unchanged
    assert [
        v["version"] for v in tenant.admin.get("/v1/models/meta").json()["targets"]["duration_days"]["history"]
    ] == ["1"]

    # 2. A requested retrain always trains: the same history and seed give the same model, not better, so the
    #    alias stays where it is.
    accepted = tenant.admin.post("/v1/models/meta/retrain").json()
    job = wait_for_job(tenant.admin, accepted["id"])
    assert job["state"] == "succeeded", job
    for target in TARGETS:
        decision = job["detail"]["targets"][target]["champion"]
        assert job["detail"]["targets"][target]["version"] == "2"
        assert decision["moved"] is False and decision["champion_version"] == "1"
        assert decision["challenger_holdout_mae"] == pytest.approx(decision["champion_holdout_mae"], abs=1e-6)
        assert alias(target) == "1"
    history = tenant.admin.get("/v1/models/meta").json()["targets"]["success_score"]["history"]
    assert [v["version"] for v in history] == ["2", "1"]
    assert history[0]["decision"]["moved"] is False and history[0]["is_champion"] is False

    # 3. New outcomes: the schedule retrains, and the alias, the stored pointer and serving agree on the champion.
    for n in range(3):
        project = create_project(
            tenant.admin, f"finished {n}", "regression", complexity_score=3 + n, start_date="2025-03-01"
        )
        assert (
            tenant.admin.put(
                f"/v1/projects/{project['id']}/outcome",
                json={
                    "model_performance": 0.7,
                    "business_impact_usd": 10_000.0,
                    "duration_days": 40.0 + 10 * n,
                    "compute_cost_usd": 800.0,
                    "completed_at": "2025-05-01T00:00:00Z",
                },
            ).status_code
            == 200
        )
    trained = _scheduled_retrain(tenant)
    assert trained["outcome"] == "trained" and trained["training_rows"] == SEEDED_PROJECTS + 3
    prediction = tenant.admin.post("/v1/predictions", json={"profile": PROFILE}).json()
    overview = tenant.admin.get("/v1/models/meta").json()
    for target in TARGETS:
        summary = trained["targets"][target]
        assert summary["version"] == "3"
        expected = "3" if summary["champion"]["moved"] else "1"
        if summary["champion"]["moved"]:
            assert summary["champion"]["challenger_holdout_mae"] < summary["champion"]["champion_holdout_mae"]
        assert alias(target) == expected
        assert overview["targets"][target]["champion"]["version"] == expected
        assert prediction["targets"][target]["model_version"] == expected  # served without a redeploy
    job = tenant.admin.get(f"/v1/models/meta/jobs/{trained['job_id']}").json()
    assert job["state"] == "succeeded" and job["detail"]["outcome"] == "trained"


def test_a_prediction_is_scored_when_the_project_finishes(history_tenant, first_retrain):
    tenant, _ = history_tenant
    project = create_project(
        tenant.admin,
        "scored later",
        description="a classification project predicted before it ends",
        start_date="2026-09-01",
    )
    predicted = tenant.admin.post("/v1/predictions", json={"project_id": project["id"]}).json()
    assert predicted["basis"] == "model" and predicted["project_id"] == project["id"]
    before = tenant.admin.get("/v1/models/meta").json()["targets"]["duration_days"]["champion"]["live"]

    outcome = {
        "model_performance": 0.8,
        "business_impact_usd": 50_000.0,
        "duration_days": 70.0,
        "compute_cost_usd": 900.0,
        "completed_at": datetime.now(UTC).isoformat(),  # after the prediction; a future one is refused
    }
    assert tenant.admin.put(f"/v1/projects/{project['id']}/outcome", json=outcome).status_code == 200
    deadline = time.monotonic() + 20
    while True:
        stored = tenant.admin.get(f"/v1/predictions/{predicted['id']}").json()
        if stored["scored"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    scored = stored["scored"]["targets"]["duration_days"]
    assert scored["actual"] == 70.0
    assert scored["abs_error"] == pytest.approx(abs(predicted["targets"]["duration_days"]["point"] - 70.0), abs=1e-3)
    after = tenant.admin.get("/v1/models/meta").json()["targets"]["duration_days"]["champion"]["live"]
    assert after["scored_predictions"] == before["scored_predictions"] + 1
    assert after["mae"] is not None


def test_a_stored_projects_prediction_and_its_recommendations_give_the_same_figures(history_tenant, first_retrain):
    """POST /v1/predictions {project_id} and POST /v1/recommendations {project_id} read the same stored project
    (profile, team, features) through the same served models: the plan's figures are the prediction's."""
    tenant, _ = history_tenant
    project = create_project(
        tenant.admin,
        "same figures",
        "regression",
        complexity_score=7,
        description="demand regression per store, nightly batch",
        start_date="2026-11-02",
    )
    for role, level in [("ml_engineer", "senior"), ("data_engineer", "junior"), ("ml_scientist", "mid")]:
        added = tenant.admin.post(
            f"/v1/projects/{project['id']}/members",
            json={"display_name": role, "role": role, "experience_level": level, "contribution_hours": 30},
        )
        assert added.status_code == 201, added.text
    predicted = tenant.admin.post("/v1/predictions", json={"project_id": project["id"]})
    recommended = tenant.admin.post("/v1/recommendations", json={"project_id": project["id"]})
    assert predicted.status_code == 200 and recommended.status_code == 200, (predicted.text, recommended.text)
    targets, plan = predicted.json()["targets"], recommended.json()["team"]["current"]
    assert predicted.json()["basis"] == recommended.json()["basis"] == "model"
    assert plan["shape"]["team_size"] == 3
    for target, short in (("duration_days", "duration"), ("success_score", "success")):
        assert plan["predicted"][target] == targets[target]["point"], target
        for level in ("80", "90"):
            assert plan["predicted"][f"{short}_{level}"] == targets[target]["intervals"][level], (target, level)


def test_one_tenant_cannot_read_another_tenants_models_jobs_or_predictions(history_tenant, first_retrain, tenant):
    owner, _ = history_tenant
    _, accepted, _ = first_retrain
    assert tenant.admin.get(f"/v1/models/meta/jobs/{accepted['id']}").status_code == 404
    theirs = owner.admin.post("/v1/predictions", json={"profile": PROFILE}).json()
    assert tenant.admin.get(f"/v1/predictions/{theirs['id']}").status_code == 404
    assert tenant.admin.get("/v1/models/meta").json()["basis"] == "prior"
    assert tenant.admin.post("/v1/predictions", json={"project_id": owner_project(owner)}).status_code == 404


def owner_project(owner):
    return owner.admin.get("/v1/projects?limit=1").json()["items"][0]["id"]


def test_the_hourly_refresh_materialises_a_running_projects_early_metrics(trained_tenant):
    from datetime import date, datetime, timedelta

    import app
    from infra.local.dispatcher import LambdaContextStub
    from maestro.domain.meta.history import FEATURE_NAMES
    from maestro.repositories.online_features import read_online_features

    tenant = trained_tenant.tenant
    started = date.today() - timedelta(days=3)
    project = create_project(
        tenant.admin, "running", "forecasting", complexity_score=6, team_size=2, start_date=started.isoformat()
    )
    now = datetime.now(UTC)
    events = [
        {
            "project_id": project["id"],
            "metric_type": "commits",
            "value": 7,
            "source": "test",
            "timestamp": (now - timedelta(days=1, hours=n)).isoformat(),
            "metadata": {"author": f"dev{n}"},
        }
        for n in range(3)
    ]
    assert tenant.admin.post("/v1/metrics", json={"events": events}).status_code == 200
    before = read_online_features(tenant.tenant_id, [project["id"]], FEATURE_NAMES)[project["id"]]
    assert before["commits_per_week"] is None  # not materialised yet

    event = {
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": {},
        "time": now.isoformat(),
        "resources": [],
        "id": "hourly",
        "region": "us-east-1",
        "account": "000000000000",
        "version": "0",
    }
    results = app.refresh_features_hourly(event, LambdaContextStub("refresh_features_hourly"))
    ours = next(r for r in results if r["tenant_id"] == tenant.tenant_id)
    assert ours["rows"] >= 1
    online = read_online_features(tenant.tenant_id, [project["id"]], FEATURE_NAMES)[project["id"]]
    elapsed_weeks = (now - datetime.combine(started, datetime.min.time(), tzinfo=UTC)).total_seconds() / 604800
    assert online["commits_per_week"] == pytest.approx(21 / elapsed_weeks, rel=0.02)
    assert online["contributors"] == 3.0
    predicted = tenant.admin.post("/v1/predictions", json={"project_id": project["id"]}).json()
    assert predicted["features_source"] == "online_store" and predicted["basis"] == "model"


def test_the_seeded_history_reads_back_in_the_shapes_the_api_publishes(history_tenant):
    """The demo seeder writes straight to the tables; what it wrote must answer like what the services write."""
    from functions.artifacts import ArtifactView
    from functions.projects import ProjectView

    tenant, history = history_tenant
    completed = tenant.admin.get(f"/v1/projects/{history.projects[0].project_id}")
    assert completed.status_code == 200, completed.text
    project = ProjectView.model_validate(completed.json())
    assert project.outcome.success.score == pytest.approx(round(history.projects[0].success_score, 2), abs=0.01)
    assert set(project.outcome.success.components) == {"model_performance", "business_impact", "duration", "cost"}
    deprecated = sorted(history.deprecated())
    assert deprecated, "the generated history retires some artifacts"
    answer = tenant.admin.get(f"/v1/artifacts/{deprecated[0]}")
    assert answer.status_code == 200, answer.text
    assert ArtifactView.model_validate(answer.json()).deprecated.replacement_id is None
