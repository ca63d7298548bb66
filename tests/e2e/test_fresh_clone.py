"""A new user's first `make run`, on a fresh clone: it exports the embedding model itself, and semantic search
works from the first run, for a new artifact and for the demo tenant. SIGTERM to the whole process group then
stops every process it started and frees every port."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
import requests

from tests.e2e.stack import PROJECT_DIR, SIGTERM, MakeRun, stop_signals_and_wait

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
PASSWORD = "orchestra-tuning-fork-42"


def _search(base: str, token: str, **body) -> dict:
    response = requests.post(
        base + "/v1/artifacts/search", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_first_make_run_on_a_fresh_clone_serves_semantic_search(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_DIR), str(clone)], check=True)
    assert not (clone / "build").exists()
    stack = MakeRun(clone, tmp_path / "local-stack", run_args="")  # with the demo tenant, as a user gets it
    leftovers: tuple = ([], [])
    try:
        stack.start(timeout_s=1200)
        output = stack.output()
        assert (clone / "build" / "embedding-model" / "model.onnx").is_file()
        assert "semantic search is off" not in output

        signup = requests.post(
            stack.api + "/v1/auth/signup",
            json={"tenant_name": "First Run", "email": "ada@first-run.example", "password": PASSWORD, "name": "Ada"},
            timeout=60,
        )
        assert signup.status_code == 201, signup.text
        token = signup.json()["access_token"]
        created_at = time.monotonic()
        created = requests.post(
            stack.api + "/v1/artifacts",
            json={
                "name": "Subscriber attrition classifier",
                "type": "model_template",
                "description": "Gradient boosted trees predicting which telecom subscribers cancel next month",
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        while True:
            body = _search(stack.api, token, query="customer churn prediction", mode="semantic")
            if [hit["id"] for hit in body["items"]] == [created["id"]] or time.monotonic() - created_at > 10:
                break
            time.sleep(0.2)
        assert time.monotonic() - created_at <= 10, body
        assert body["mode"] == "semantic" and "degraded" not in body and "not_embedded" not in body
        assert body["items"][0]["id"] == created["id"] and body["items"][0]["found_by"] == ["semantic"]

        demo = re.search(r"demo tenant .*email (\S+)\s+password (\S+)", output)
        assert demo, output[-3000:]
        login = requests.post(
            stack.api + "/v1/auth/login", json={"email": demo[1], "password": demo[2]}, timeout=60
        ).json()
        deadline = time.monotonic() + 600  # the history lands within a minute or two on two busy cores
        while True:
            demo_search = _search(
                stack.api, login["access_token"], query="churn classification features", mode="semantic"
            )
            if (demo_search["items"] and "not_embedded" not in demo_search) or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert demo_search["items"] and demo_search["mode"] == "semantic", demo_search
        assert "not_embedded" not in demo_search and "degraded" not in demo_search
    finally:
        if stack.process is not None:
            leftovers = stop_signals_and_wait(stack, SIGTERM)
            stack.kill_everything()
    processes, ports = leftovers
    assert processes == [], [(p.pid, p.cmdline()) for p in processes]
    assert ports == []
