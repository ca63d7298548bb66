"""MLflow sync against a real `mlflow server` on 127.0.0.1, with runs logged by the real MLflow client."""

import pytest

from infra.local.moto_server import free_port
from tests.integration.conftest import create_project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    from infra.local.mlflow_server import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    yield server.uri
    server.stop()


@pytest.fixture(scope="module")
def logged_runs(mlflow_server):
    """Five runs by the real client: four finished with two learning rates, one failed."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    experiment_id = client.create_experiment("churn-model")
    for _n, (lr, auc) in enumerate([(0.1, 0.81), (0.1, 0.84), (0.01, 0.88), (0.01, 0.86)]):
        run = client.create_run(experiment_id)
        client.log_param(run.info.run_id, "learning_rate", lr)
        client.log_param(run.info.run_id, "max_depth", 6)
        client.log_metric(run.info.run_id, "val_auc", auc)
        client.set_terminated(run.info.run_id, status="FINISHED")
    failed = client.create_run(experiment_id)
    client.log_param(failed.info.run_id, "learning_rate", 1.0)
    client.set_terminated(failed.info.run_id, status="FAILED")
    return "churn-model"


def _count(tenant_id, project_id, metric_type):
    from maestro.repositories import metrics as store

    return len(list(store.events_in_period(tenant_id, project_id, metric_type, None, None)))


def test_an_experiment_syncs_into_metrics_and_a_summary(tenant, mlflow_server, logged_runs):
    configured = tenant.admin.put(
        "/v1/integrations/mlflow",
        json={"tracking_uri": mlflow_server, "primary_metric": "val_auc", "direction": "maximize"},
    )
    assert configured.status_code == 200, configured.text
    project_id = create_project(tenant.admin, "churn", mlflow_experiment=logged_runs)["id"]
    synced = tenant.admin.post(f"/v1/projects/{project_id}/integrations/mlflow/sync")
    assert synced.status_code == 200, synced.text
    summary = synced.json()["summary"]
    assert (summary["runs"], summary["failed_runs"], summary["distinct_hyperparameter_sets"]) == (5, 1, 3)
    assert summary["best"]["value"] == pytest.approx(0.88) and summary["best"]["metric"] == "val_auc"
    assert summary["mean_run_seconds"] is not None and summary["runs_per_week"] > 0
    assert _count(tenant.tenant_id, project_id, "experiment_run") == 5
    assert _count(tenant.tenant_id, project_id, "experiment_run_failed") == 1
    assert tenant.admin.get(f"/v1/projects/{project_id}").json()["mlflow"]["runs"] == 5
    # Syncing again changes no count.
    again = tenant.admin.post(f"/v1/projects/{project_id}/integrations/mlflow/sync").json()
    assert again["events"]["accepted"] == 0 and again["events"]["duplicates"] > 0
    assert _count(tenant.tenant_id, project_id, "experiment_run") == 5


def test_the_scheduled_sync_covers_connected_projects(tenant, mlflow_server, logged_runs):
    import app
    from infra.local.dispatcher import LambdaContextStub

    tenant.admin.put("/v1/integrations/mlflow", json={"tracking_uri": mlflow_server, "primary_metric": "val_auc"})
    project_id = create_project(tenant.admin, "scheduled", mlflow_experiment=logged_runs)["id"]
    event = {
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": {},
        "time": "2026-11-26T03:00:00Z",
        "resources": [],
        "id": "x",
        "region": "us-east-1",
        "account": "000000000000",
        "version": "0",
    }
    results = app.sync_mlflow_hourly(event, LambdaContextStub("sync_mlflow_hourly"))
    assert project_id in {r["project_id"] for r in results}
    assert _count(tenant.tenant_id, project_id, "experiment_run") == 5


def test_unknown_experiment_and_unreachable_server(tenant, mlflow_server):
    tenant.admin.put("/v1/integrations/mlflow", json={"tracking_uri": mlflow_server})
    project_id = create_project(
        tenant.admin, "x", "other", complexity_score=1, team_size=1, mlflow_experiment="no-such-experiment"
    )["id"]
    assert tenant.admin.post(f"/v1/projects/{project_id}/integrations/mlflow/sync").status_code == 404
    tenant.admin.put("/v1/integrations/mlflow", json={"tracking_uri": f"http://127.0.0.1:{free_port()}"})
    response = tenant.admin.post(f"/v1/projects/{project_id}/integrations/mlflow/sync")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_tracking_uri_must_be_public_https_outside_local_mode(monkeypatch):
    from maestro.domain.errors import InvalidInput
    from maestro.services.mlflow_sync import _check_uri
    from maestro.settings import reset_settings

    monkeypatch.setenv("MAESTRO_STAGE", "prod")
    reset_settings()
    try:
        for uri in ("http://mlflow.example.com", "https://127.0.0.1:5000", "https://169.254.169.254", "ftp://x"):
            with pytest.raises(InvalidInput):
                _check_uri(uri)
    finally:
        monkeypatch.undo()
        reset_settings()
