"""Load on the local stack: N clients for T seconds against the API served as `make run` and the tests serve it
(moto server + bootstrap + Chalice's local server, in this process), mixed reads and writes, then a check that
nothing was lost. Prints JSON: throughput and p50/p95/p99 per kind, beside a baseline measured in the same run
(GET /v1/health, which touches no AWS service, with the same N clients), and the verification.

Kinds: create_project (write), record_metrics (write: a batch of 5 events), get_project, list_projects,
metrics_summary (reads). Each client is a tenant's admin; per-caller throttling is off (as in every benchmark).
Verification: every project answered 201 is readable (200), each tenant's project counter equals its projects,
and the metric events stored (rows and day aggregates) equal the events of the writes answered 200.

    .venv/bin/python benchmarks/load.py [--clients 8] [--seconds 30]

Only the JSON goes to stdout (the server's request log and Powertools' EMF lines go to stderr).

What limits throughput. Locally: one Python process serves the API (Chalice's local server, a thread per request
under one GIL) and one more emulates AWS (moto server: every DynamoDB call is an HTTP round trip of ~8 ms, a
25-item transaction far more), on two cores shared with whatever else runs; `/v1/health` under the same clients is
the ceiling of the HTTP layer alone. Reads that aggregate over a project's whole life (metrics summary) cost the
most. In AWS: API Gateway's stage throttling (100 rps / 200 burst, prod 500 / 1000; infra/template/api.py), the
per-caller and per-tenant budgets (20 and 100 requests/s by default; settings), Lambda's account concurrency
(1,000 by default) and cold starts; DynamoDB on demand scales per partition (1,000 writes/s, 3,000 reads/s per
key range), so the hot single items bound a tenant's writes: its audit chain head (one conditional append after
another per tenant), its quota counters and a project's day aggregates.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import redirect_stdout
from pathlib import Path

from _local_stack import local_stack

PASSWORD = "orchestra-tuning-fork-42"
WRITES = ("create_project", "record_metrics")
EVENTS_PER_WRITE = 5


def serve_api(app_module) -> str:
    from chalice.config import Config

    from infra.local.api_server import create_api_server
    from infra.local.moto_server import free_port

    config = Config.create(
        chalice_stage="test",
        app_name="maestro-ml",
        chalice_app=app_module.app,
        project_dir=str(Path(app_module.__file__).parent),
    )
    port = free_port()
    server = create_api_server(app_module.app, config, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def stats(samples_ms: list[float], seconds: float) -> dict:
    ordered = sorted(samples_ms) or [0.0]

    def pick(q):
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)

    return {
        "per_second": round(len(samples_ms) / seconds, 1),
        "p50_ms": pick(0.5),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
    }


class LoadClient:
    """One tenant's admin doing the mix; remembers what the API said it stored."""

    def __init__(self, base_url: str, seed: int) -> None:
        import requests

        self.base_url, self.http, self.random = base_url, requests.Session(), random.Random(seed)
        signup = self.http.post(
            base_url + "/v1/auth/signup",
            json={
                "tenant_name": f"Load{seed}",
                "email": f"load-{uuid.uuid4().hex[:10]}@load.example",
                "password": PASSWORD,
                "name": "Load",
            },
            timeout=30,
        )
        signup.raise_for_status()
        self.tenant_id = signup.json()["user"]["tenant_id"]
        self.http.headers["Authorization"] = f"Bearer {signup.json()['access_token']}"
        self.projects: list[str] = []
        self.events_written: dict[str, int] = defaultdict(int)
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.sequence = 0

    def _call(self, kind: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        response = self.http.request(method, self.base_url + path, timeout=60, **kwargs)
        self.samples[kind].append((time.perf_counter() - started) * 1000)
        self.status[kind][response.status_code] += 1
        return response

    def step(self) -> None:
        if not self.projects or self.random.random() < 0.1:
            kind = "create_project"
        else:
            kind = self.random.choice(
                ["record_metrics", "record_metrics", "get_project", "list_projects", "metrics_summary"]
            )
        project_id = self.random.choice(self.projects) if self.projects else None
        if kind == "create_project":
            body = {"name": f"load {self.sequence}", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
            response = self._call(kind, "POST", "/v1/projects", json=body)
            if response.status_code == 201:
                self.projects.append(response.json()["id"])
        elif kind == "record_metrics":
            self.sequence += 1
            events = [
                {
                    "project_id": project_id,
                    "metric_type": "commits",
                    "value": 1,
                    # distinct per write and per event: every accepted event is a new one
                    "timestamp": f"2026-0{1 + n % 9}-{1 + self.sequence % 28:02d}T{n:02d}:00:00Z",
                    "metadata": {"seq": self.sequence, "n": n},
                }
                for n in range(EVENTS_PER_WRITE)
            ]
            response = self._call(kind, "POST", "/v1/metrics", json={"events": events})
            if response.status_code == 200:
                self.events_written[project_id] += response.json()["accepted"]
        elif kind == "get_project":
            self._call(kind, "GET", f"/v1/projects/{project_id}")
        elif kind == "list_projects":
            self._call(kind, "GET", "/v1/projects", params={"limit": 20})
        else:
            self._call(kind, "GET", f"/v1/projects/{project_id}/metrics/summary")
        self.sequence += 1


def run_clients(clients: list, seconds: float, step) -> float:
    stop_at = time.monotonic() + seconds
    errors: list[BaseException] = []

    def loop(client):
        try:
            while time.monotonic() < stop_at:
                step(client)
        except BaseException as error:  # reported, not swallowed: a client that died skews every figure
            errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.monotonic() - started


def verify(clients: list[LoadClient]) -> dict:
    from maestro.repositories import metrics as store

    unreadable, counter_mismatch, events_expected, events_stored, aggregated = [], [], 0, 0, 0
    for client in clients:
        for project_id in client.projects:
            if client.http.get(f"{client.base_url}/v1/projects/{project_id}", timeout=30).status_code != 200:
                unreadable.append(project_id)
        used = client.http.get(f"{client.base_url}/v1/tenant", timeout=30).json()["quotas"]["projects"]["used"]
        if used != len(client.projects):
            counter_mismatch.append({"tenant": client.tenant_id, "counter": used, "created": len(client.projects)})
        for project_id in client.projects:
            events_expected += client.events_written[project_id]
            events_stored += sum(1 for _ in store.events_in_period(client.tenant_id, project_id, "commits", None, None))
            aggregated += sum(int(a.count) for a in store.day_aggregates(client.tenant_id, project_id, "commits"))
    return {
        "projects_created": sum(len(c.projects) for c in clients),
        "projects_unreadable": unreadable,
        "project_counters_wrong": counter_mismatch,
        "metric_events_acknowledged": events_expected,
        "metric_events_stored": events_stored,
        "metric_day_aggregates_count": aggregated,
        "nothing_lost": not unreadable and not counter_mismatch and events_expected == events_stored == aggregated,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    args = parser.parse_args()
    out = sys.stdout
    with redirect_stdout(sys.stderr), local_stack() as app_module:
        base_url = serve_api(app_module)
        clients = [LoadClient(base_url, seed) for seed in range(args.clients)]

        health: list[float] = []
        lock = threading.Lock()

        def probe(client):
            started = time.perf_counter()
            client.http.get(base_url + "/v1/health", timeout=30)
            with lock:
                health.append((time.perf_counter() - started) * 1000)

        baseline_s = run_clients(clients, args.baseline_seconds, probe)
        elapsed = run_clients(clients, args.seconds, LoadClient.step)

        kinds = sorted({kind for c in clients for kind in c.samples})
        per_kind = {}
        for kind in kinds:
            samples = [ms for c in clients for ms in c.samples[kind]]
            statuses: dict[int, int] = defaultdict(int)
            for c in clients:
                for status, count in c.status[kind].items():
                    statuses[status] += count
            per_kind[kind] = {
                "requests": len(samples),
                "status": dict(sorted(statuses.items())),
                **stats(samples, elapsed),
            }
        total = sum(v["requests"] for v in per_kind.values())
        print(
            json.dumps(
                {
                    "clients": args.clients,
                    "seconds": round(elapsed, 1),
                    "requests": total,
                    "throughput_per_second": round(total / elapsed, 1),
                    "writes_per_second": round(
                        sum(per_kind.get(k, {}).get("requests", 0) for k in WRITES) / elapsed, 1
                    ),
                    "per_kind": per_kind,
                    "baseline_health_no_aws": stats(health, baseline_s),
                    "verification": verify(clients),
                },
                indent=2,
            ),
            file=out,
        )


if __name__ == "__main__":
    main()
