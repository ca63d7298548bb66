"""The local workspace survives a restart, and `make run` stops cleanly, whatever stops it.

One workspace, four runs of `make run` on the same ports:
1. a tenant with a project, an artifact version (bytes), metrics and a retrained model; SIGTERM to the group;
2. all of it back, the audit chain verifying; a new project, then SIGKILL to the group after the next snapshot;
3. the new project is back; SIGKILL to `make run`'s Python process alone (its moto server notices and exits;
   the MLflow server is left behind);
4. the stale MLflow server is found and stopped, everything is back; SIGINT twice.
After each stop: no process of the stack left and every port free."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.stack import PROJECT_DIR, SIGINT, SIGKILL, SIGTERM, MakeRun, stop_signals_and_wait

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
PASSWORD = "orchestra-tuning-fork-42"
SEEDED_PROJECTS = 50


class Api:
    def __init__(self, base: str, key: str | None = None, token: str | None = None) -> None:
        self.base = base
        self.headers = {"X-Api-Key": key} if key else {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, expected: int | tuple = 200, **kwargs) -> dict:
        response = requests.request(method, self.base + path, headers=self.headers, timeout=60, **kwargs)
        codes = expected if isinstance(expected, tuple) else (expected,)
        assert response.status_code in codes, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else {}


def _seed_history_tenant(stack: MakeRun) -> tuple[str, str]:
    """A tenant with a generated history (the demo seeder's CLI against the running stack); its login."""
    from infra.local.run import local_environment

    env = {**stack.environment(), **local_environment(stack.moto)}
    done = subprocess.run(
        [sys.executable, "-m", "infra.local.demo_history", "--projects", str(SEEDED_PROJECTS), "--artifacts", "24"],
        cwd=stack.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    login = done.stdout.strip().splitlines()[-1].split()
    return login[login.index("email") + 1], login[login.index("password") + 1]


def _create_project(api: Api, name: str, problem_class: str, **profile) -> str:
    return api.call("POST", "/v1/projects", 201, json={"name": name, "problem_class": problem_class, **profile})["id"]


def _wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"{what} within {timeout_s:.0f} s"
            return value
        time.sleep(1)


def _facts(api: Api, stack: MakeRun, made: dict) -> dict:
    """Everything the first run wrote, read back through the API and MLflow's REST API."""
    link = api.call("GET", f"/v1/artifacts/{made['artifact_id']}/versions/1.0.0/download")
    champions = api.call("GET", "/v1/models/meta")
    registered = requests.get(
        stack.mlflow + "/api/2.0/mlflow/registered-models/search", params={"max_results": 100}, timeout=30
    ).json()
    return {
        "me": api.call("GET", "/v1/auth/me")["id"],
        "project": api.call("GET", f"/v1/projects/{made['project_id']}"),
        "artifact": api.call("GET", f"/v1/artifacts/{made['artifact_id']}"),
        "version": api.call("GET", f"/v1/artifacts/{made['artifact_id']}/versions/1.0.0"),
        "bytes_sha256": hashlib.sha256(requests.get(link["url"], timeout=30).content).hexdigest(),
        # the summary's period runs to "now" for an active project; the figures are what was stored
        "metrics": {
            k: v
            for k, v in api.call("GET", f"/v1/projects/{made['project_id']}/metrics/summary").items()
            if k != "period"
        },
        "projects": sorted(
            p["id"]
            for p in api.call("GET", "/v1/projects", params={"limit": 100})["items"]
            if p["id"] != made.get("late")
        ),
        "basis": champions["basis"],
        "champions": {target: (view["champion"] or {}).get("version") for target, view in champions["targets"].items()},
        "mlflow_models": sorted(
            (m["name"], max(int(v["version"]) for v in m.get("latest_versions", [])))
            for m in registered.get("registered_models", [])
        ),
    }


def _audit_event_ids(api: Api) -> set[str]:
    return {event["id"] for event in api.call("GET", "/v1/audit", params={"limit": 200})["items"]}


def _assert_stopped_cleanly(stack: MakeRun, leftovers) -> None:
    processes, ports = leftovers
    assert processes == [], f"left running: {[(p.pid, p.cmdline()) for p in processes]}\n{stack.output()[-3000:]}"
    assert ports == [], f"ports still taken: {ports}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = MakeRun(PROJECT_DIR, tmp_path_factory.mktemp("workspace") / "local-stack")
    yield running
    running.kill_everything()


def test_the_workspace_survives_sigterm_sigkill_and_a_stale_server(stack):
    # ---- 1. fill a workspace, stop with SIGTERM to the whole group
    stack.start()
    email, password = _seed_history_tenant(stack)
    admin = Api(
        stack.api,
        token=Api(stack.api).call("POST", "/v1/auth/login", json={"email": email, "password": password})[
            "access_token"
        ],
    )
    key = admin.call("POST", "/v1/api-keys", 201, json={"name": "e2e", "role": "admin"})["key"]
    api = Api(stack.api, key=key)
    project_id = _create_project(api, "durable churn", "classification", complexity_score=5, team_size=3)
    artifact_id = api.call("POST", "/v1/artifacts", 201, json={"name": "durable weights", "type": "model"})["id"]
    data = os.urandom(70_000)
    declared = api.call(
        "POST",
        f"/v1/artifacts/{artifact_id}/versions",
        201,
        json={
            "version": "1.0.0",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": "application/octet-stream",
        },
    )
    assert (
        requests.put(
            declared["upload"]["url"], data=data, headers=declared["upload"]["headers"], timeout=30
        ).status_code
        == 200
    )
    _wait_for(
        lambda: api.call("GET", f"/v1/artifacts/{artifact_id}/versions/1.0.0")["status"] == "ready", 60, "version ready"
    )
    events = [
        {"project_id": project_id, "metric_type": "commits", "value": 1, "timestamp": f"2026-03-0{d}T10:00:00Z"}
        for d in range(1, 8)
    ]
    assert api.call("POST", "/v1/metrics", json={"events": events})["accepted"] == 7
    job = api.call("POST", "/v1/models/meta/retrain", 202)
    finished = _wait_for(
        lambda: (
            (view := api.call("GET", f"/v1/models/meta/jobs/{job['id']}"))["state"] in ("succeeded", "failed") and view
        ),
        900,
        "retrain finished",
    )
    assert finished["state"] == "succeeded", finished
    made = {"project_id": project_id, "artifact_id": artifact_id}
    before = _facts(api, stack, made)
    assert before["bytes_sha256"] == hashlib.sha256(data).hexdigest()
    assert any(before["champions"].values()) and before["mlflow_models"], before
    audit_before = _audit_event_ids(api)
    _assert_stopped_cleanly(stack, stop_signals_and_wait(stack, SIGTERM))
    assert "stopped; the workspace is saved" in stack.output()

    # ---- 2. everything is back (the API key too: secrets and hashes persisted); then SIGKILL after a snapshot
    stack.start()
    assert "local AWS state restored" in stack.moto_log()
    assert _facts(api, stack, made) == before
    assert audit_before <= _audit_event_ids(api)
    assert api.call("GET", "/v1/audit/verify")["intact"] is True
    late = _create_project(api, "written before a crash", "regression", complexity_score=3, team_size=2)
    made["late"] = late
    stack.saved_after(time.time())
    _assert_stopped_cleanly(stack, stop_signals_and_wait(stack, SIGKILL))

    # ---- 3. the crash lost nothing older than the snapshot; then only make run's Python process dies
    stack.start()
    assert api.call("GET", f"/v1/projects/{late}")["name"] == "written before a crash"
    assert _facts(api, stack, made) == before
    assert api.call("GET", "/v1/audit/verify")["intact"] is True
    runner = stack.run_process()
    runner.kill()
    stack.process.wait(timeout=60)
    _wait_for(lambda: "is gone: stopping" in stack.moto_log(), 60, "moto noticed that make run died")

    # ---- 4. the stale MLflow server is found and stopped, not silently reused; then SIGINT twice
    stack.start()
    assert "of an earlier `make run` still running" in stack.output()
    assert _facts(api, stack, made) == before
    assert api.call("GET", "/v1/audit/verify")["intact"] is True
    _assert_stopped_cleanly(stack, stop_signals_and_wait(stack, SIGINT, SIGINT))
    assert "still stopping" in stack.output()


def test_a_port_taken_by_another_program_is_refused_clearly(tmp_path):
    import socket

    stack = MakeRun(PROJECT_DIR, tmp_path / "local-stack")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.ports["MAESTRO_API_PORT"]))
        squatter.listen()
        stack.launch()
        try:
            assert stack.process.wait(timeout=300) != 0
        finally:
            stack.kill_everything()
    output = stack.output()
    assert f"port {stack.ports['MAESTRO_API_PORT']}, which the API needs, is in use by" in output
    assert "MAESTRO_API_PORT" in output and stack.stack_processes() == []
