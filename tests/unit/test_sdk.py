"""The Python client (sdk/maestro_client) against a tiny scripted HTTP server on 127.0.0.1: a method for every
route, retries that honour Retry-After, one Idempotency-Key per POST kept across retries, problem+json raised as
exceptions with their fields, cursor iteration, token refresh, and the credentials file's mode."""

from __future__ import annotations

import json
import re
import stat
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from maestro_client import (
    ENDPOINTS,
    Client,
    NotFound,
    Page,
    RateLimited,
    RetryPolicy,
    ServerError,
    Tokens,
    TransportError,
    Unauthorized,
    ValidationFailed,
    WaitTimeout,
)
from maestro_client.transport import parse_retry_after


# ---------------------------------------------------------------- a scripted server
class Script:
    """Answers in order per (method, path); records every request."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list] = {}
        self.requests: list[dict] = []

    def on(self, method: str, path: str, *answers) -> None:
        self.answers.setdefault((method, path), []).extend(answers)

    def next_answer(self, method: str, path: str, request: dict):
        queue = self.answers.get((method, path))
        if not queue:
            return (
                404,
                {"Content-Type": "application/problem+json"},
                {"type": "about:blank", "title": "Not Found", "status": 404},
            )
        answer = queue[0] if len(queue) == 1 else queue.pop(0)  # the last answer repeats
        return answer(request) if callable(answer) else answer


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _handle(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "json": json.loads(raw) if raw else None,
            }
            script.requests.append(request)
            status, headers, body = script.next_answer(self.command, url.path, request)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()
    httpd.server_close()


def ok(body, status=200, **headers):
    return status, headers, body


def problem(status, title, detail=None, **extra):
    body = {
        "type": f"https://maestro-ml.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        **({"detail": detail} if detail else {}),
        **extra,
    }
    return status, {"Content-Type": "application/problem+json"}, body


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def client_for(server, sleeps=None, **kwargs) -> Client:
    return Client(server.url, api_key="mml_test_key", sleep=sleeps if sleeps is not None else Sleeps(), **kwargs)


# ---------------------------------------------------------------- every route has a method
def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_of_the_platform_has_a_client_method():
    import app

    # the routes the app serves (other unit tests register throwaway routes in the shared registry)
    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    covered = {(method, _shape(path)) for method, path in ENDPOINTS}
    missing = sorted(f"{method} {path}" for method, path in served if (method, _shape(path)) not in covered)
    assert len(served) > 60
    assert not missing, f"maestro_client.Client has no method for: {missing} (add one with @endpoint)"


def test_each_registered_method_exists_on_the_client_and_names_its_route():
    for (method, path), name in ENDPOINTS.items():
        function = getattr(Client, name)
        assert function.endpoint == (method, path)


def test_the_client_imports_nothing_of_the_platform():
    import subprocess
    import sys

    code = (
        "import sys, maestro_client.cli, maestro_client; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('maestro', 'functions', 'app'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- retries
def test_429_is_retried_after_the_retry_after_seconds(server):
    server.on(
        "GET",
        "/v1/projects/p1",
        (
            429,
            {"Retry-After": "2", "Content-Type": "application/problem+json"},
            {"title": "Too Many Requests", "status": 429},
        ),
        ok({"id": "p1"}),
    )
    sleeps = Sleeps()
    assert client_for(server, sleeps).get_project("p1") == {"id": "p1"}
    assert sleeps == [2.0]
    assert len(server.requests) == 2


def test_503_without_retry_after_backs_off_exponentially_with_jitter_then_gives_up(server):
    server.on("GET", "/v1/tenant", problem(503, "Service Unavailable", "embedding model loading"))
    sleeps = Sleeps()
    client = client_for(server, sleeps, retry=RetryPolicy(max_retries=3, backoff=0.5))
    with pytest.raises(ServerError) as raised:
        client.get_tenant()
    assert raised.value.status == 503 and raised.value.detail == "embedding model loading"
    assert len(server.requests) == 4  # the first attempt and three retries
    for attempt, slept in enumerate(sleeps):
        base = 0.5 * 2**attempt
        assert base / 2 <= slept <= base


def test_retry_after_as_an_http_date_is_honoured(server):
    later = formatdate(time.time() + 3, usegmt=True)
    server.on(
        "GET",
        "/v1/tenant",
        (503, {"Retry-After": later}, {"status": 503, "title": "Service Unavailable"}),
        ok({"id": "t"}),
    )
    sleeps = Sleeps()
    client_for(server, sleeps).get_tenant()
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 3.0


def test_a_retry_after_longer_than_the_policy_allows_is_raised_not_waited(server):
    server.on(
        "POST",
        "/v1/auth/login",
        (
            429,
            {"Retry-After": "900", "Content-Type": "application/problem+json"},
            {"title": "Too Many Requests", "status": 429, "detail": "account locked"},
        ),
    )
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as raised:
        client_for(server, sleeps).auth_login("ada@acme.example", "wrong")
    assert raised.value.retry_after == 900 and sleeps == [] and len(server.requests) == 1


def test_connection_failures_are_retried_then_raised_as_transport_errors():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    sleeps = Sleeps()
    client = Client(f"http://127.0.0.1:{port}", api_key="k", sleep=sleeps, retry=RetryPolicy(max_retries=2))
    with pytest.raises(TransportError):
        client.health()
    assert len(sleeps) == 2


def test_parse_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(1000, usegmt=True), now=990) == pytest.approx(10)
    assert parse_retry_after(formatdate(1000, usegmt=True), now=2000) == 0.0


# ---------------------------------------------------------------- idempotency keys
def test_every_post_carries_an_idempotency_key_kept_across_retries(server):
    server.on(
        "POST",
        "/v1/projects",
        (503, {"Retry-After": "0"}, {"status": 503, "title": "Service Unavailable"}),
        ok({"id": "p1"}, 201),
    )
    server.on("POST", "/v1/artifacts", ok({"id": "a1"}, 201))
    client = client_for(server)
    client.create_project("churn", "classification", 5, 4)
    client.create_artifact("a", "model")
    client.create_artifact("b", "model")
    keys = [r["headers"].get("idempotency-key") for r in server.requests]
    assert all(keys) and keys[0] == keys[1]  # the retry repeats the key
    assert len({keys[1], keys[2], keys[3]}) == 3  # each call has its own
    assert server.requests[0]["json"] == {
        "name": "churn",
        "problem_class": "classification",
        "complexity_score": 5,
        "team_size": 4,
    }


def test_an_explicit_idempotency_key_is_used_and_gets_carry_none(server):
    server.on("POST", "/v1/projects", ok({"id": "p1"}, 201))
    server.on("GET", "/v1/projects/p1", ok({"id": "p1"}))
    client = client_for(server)
    client.create_project("churn", "classification", 5, 4, idempotency_key="retry-me-42")
    client.get_project("p1")
    assert server.requests[0]["headers"]["idempotency-key"] == "retry-me-42"
    assert "idempotency-key" not in server.requests[1]["headers"]
    assert server.requests[1]["headers"]["x-api-key"] == "mml_test_key"


# ---------------------------------------------------------------- problems as exceptions
def test_a_422_raises_validation_failed_with_every_problem_field(server):
    errors = [{"field": "team_size", "message": "Input should be greater than or equal to 1", "type": "ge"}]
    server.on(
        "POST",
        "/v1/projects",
        problem(
            422,
            "Unprocessable Content",
            "the request has invalid fields",
            instance="/v1/projects",
            errors=errors,
            hint="x",
        ),
    )
    with pytest.raises(ValidationFailed) as raised:
        client_for(server).create_project("p", "classification", 5, 0)
    error = raised.value
    assert (error.status, error.title, error.detail, error.instance) == (
        422,
        "Unprocessable Content",
        "the request has invalid fields",
        "/v1/projects",
    )
    assert error.type.endswith("/unprocessable-content") and error.errors == errors
    assert error.extensions == {"hint": "x"} and "team_size" in str(error)


def test_a_404_raises_not_found_and_a_non_json_5xx_keeps_its_text(server):
    server.on("GET", "/v1/projects/nope", problem(404, "Not Found", "project nope not found"))
    server.on("GET", "/v1/tenant", (500, {"Content-Type": "text/plain"}, b"boom"))
    client = client_for(server, retry=RetryPolicy(max_retries=0))
    with pytest.raises(NotFound, match="project nope not found"):
        client.get_project("nope")
    with pytest.raises(ServerError) as raised:
        client.get_tenant()
    assert raised.value.status == 500 and raised.value.detail == "boom"


# ---------------------------------------------------------------- paging
def test_iterating_a_list_walks_every_page_lazily(server):
    pages = {
        None: ok({"items": [{"id": 1}, {"id": 2}], "next_cursor": "c2"}),
        "c2": ok({"items": [{"id": 3}], "next_cursor": "c3"}),
        "c3": ok({"items": [{"id": 4}], "next_cursor": None}),
    }
    server.on("GET", "/v1/projects", lambda request: pages[(request["query"].get("cursor") or [None])[0]])
    page = client_for(server).list_projects(status="active", limit=2)
    assert isinstance(page, Page) and page.items == [{"id": 1}, {"id": 2}] and len(server.requests) == 1
    assert [item["id"] for item in page] == [1, 2, 3, 4]
    assert [r["query"].get("cursor") for r in server.requests] == [None, ["c2"], ["c3"]]
    assert all(r["query"]["status"] == ["active"] and r["query"]["limit"] == ["2"] for r in server.requests)
    assert page.all(max_items=3) == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_search_pages_carry_the_cursor_in_the_body(server):
    def answer(request):
        if request["json"].get("cursor") == "n2":
            return ok({"items": [{"id": "b"}], "next_cursor": None, "mode": "keyword"})
        return ok({"items": [{"id": "a"}], "next_cursor": "n2", "mode": "keyword"})

    server.on("POST", "/v1/artifacts/search", answer)
    page = client_for(server).search_artifacts("churn", mode="keyword", tags=["tabular"])
    assert [a["id"] for a in page] == ["a", "b"] and page.extra == {"mode": "keyword"}
    assert server.requests[0]["json"] == {"query": "churn", "mode": "keyword", "tags": ["tabular"]}
    assert server.requests[1]["json"]["cursor"] == "n2"


# ---------------------------------------------------------------- tokens
def _tokens_answer(n):
    return ok(
        {
            "access_token": f"access-{n}",
            "refresh_token": f"refresh-{n}",
            "token_type": "Bearer",
            "expires_in": 900,
            "user": {"id": "usr_1"},
        }
    )


def test_a_401_refreshes_the_access_token_once_and_repeats_the_request(server):
    server.on(
        "GET",
        "/v1/auth/me",
        lambda r: (
            ok({"id": "usr_1"})
            if r["headers"]["authorization"] == "Bearer access-2"
            else problem(401, "Unauthorized", "token expired")
        ),
    )
    server.on("POST", "/v1/auth/refresh", _tokens_answer(2))
    saved = []
    tokens = Tokens("access-1", "refresh-1", on_refresh=lambda t: saved.append(t.refresh_token))
    client = Client(server.url, credentials=tokens, sleep=Sleeps())
    assert client.me() == {"id": "usr_1"}
    assert [r["path"] for r in server.requests] == ["/v1/auth/me", "/v1/auth/refresh", "/v1/auth/me"]
    assert server.requests[1]["json"] == {"refresh_token": "refresh-1"}
    assert "authorization" not in server.requests[1]["headers"]
    assert saved == ["refresh-2"] and tokens.access_token == "access-2"


def test_an_expiring_access_token_is_refreshed_before_the_request(server):
    server.on("GET", "/v1/auth/me", ok({"id": "usr_1"}))
    server.on("POST", "/v1/auth/refresh", _tokens_answer(2))
    tokens = Tokens("access-1", "refresh-1", expires_at=time.time() + 5)
    Client(server.url, credentials=tokens).me()
    assert [r["path"] for r in server.requests] == ["/v1/auth/refresh", "/v1/auth/me"]
    assert server.requests[1]["headers"]["authorization"] == "Bearer access-2"
    assert tokens.expires_at > time.time() + 800


def test_a_refused_refresh_raises_unauthorized(server):
    server.on("GET", "/v1/auth/me", problem(401, "Unauthorized", "token expired"))
    server.on("POST", "/v1/auth/refresh", problem(401, "Unauthorized", "session revoked"))
    with pytest.raises(Unauthorized, match="session revoked"):
        Client(server.url, credentials=Tokens("access-1", "refresh-1")).me()


# ---------------------------------------------------------------- the CLI's pieces
def test_a_process_adopts_tokens_another_process_refreshed_instead_of_spending_the_old_refresh_token(server, tmp_path):
    from maestro_client.config import CredentialStore, StoredTokens

    server.on(
        "GET",
        "/v1/auth/me",
        lambda r: (
            ok({"id": "usr_1"})
            if r["headers"]["authorization"] == "Bearer access-2"
            else problem(401, "Unauthorized", "token expired")
        ),
    )
    server.on("POST", "/v1/auth/refresh", _tokens_answer(2))
    store = CredentialStore(tmp_path)
    record = {"kind": "tokens", "access_token": "access-1", "refresh_token": "refresh-1", "expires_at": None}
    store.save(record)
    first, second = (Client(server.url, credentials=StoredTokens(store, record)) for _ in range(2))

    assert first.me() == {"id": "usr_1"}
    assert store.load()["refresh_token"] == "refresh-2" and store.load()["access_token"] == "access-2"
    assert second.me() == {"id": "usr_1"}  # its 401 finds the newer pair in the file
    assert [r["path"] for r in server.requests].count("/v1/auth/refresh") == 1


def test_credentials_are_written_with_mode_0600(tmp_path):
    from maestro_client.config import CredentialStore

    store = CredentialStore(tmp_path / "cfg")
    store.save({"kind": "api_key", "api_key": "k"})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert store.load() == {"kind": "api_key", "api_key": "k"}
    assert store.clear() and store.load() == {}


def test_exit_codes_by_failure_kind():
    from maestro_client import cli
    from maestro_client.errors import Forbidden, NotLoggedIn, error_for

    assert cli.exit_code_for(error_for(422, {})) == cli.EXIT_API == 2
    assert cli.exit_code_for(error_for(409, {})) == cli.EXIT_API
    assert cli.exit_code_for(error_for(401, {})) == cli.EXIT_AUTH == 3
    assert cli.exit_code_for(Forbidden(403)) == cli.EXIT_AUTH
    assert cli.exit_code_for(NotLoggedIn("x")) == cli.EXIT_AUTH
    assert cli.exit_code_for(error_for(404, {})) == cli.EXIT_NOT_FOUND == 4
    assert cli.exit_code_for(error_for(502, "bad gateway")) == cli.EXIT_SERVER == 5
    assert cli.exit_code_for(TransportError("refused")) == cli.EXIT_SERVER
    assert cli.exit_code_for(WaitTimeout("still pending")) == cli.EXIT_TIMEOUT == 7


def test_models_show_prints_each_champion_beside_its_baselines_and_the_coverage_error(server, monkeypatch, capsys):
    from maestro_client import cli

    champion = {
        "version": "3",
        "trained_at": "2026-11-20T02:00:00+00:00",
        "data_size": 600,
        "holdout": {"mae": 8.16},
        "baselines": {"tenant_mean": {"holdout_mae": 16.11}, "ridge": {"holdout_mae": 8.65}},
        "coverage": {"80": 0.8583, "90": 0.9083},
        "holdout_projects": 120,
        "coverage_standard_error": {"80": 0.0365, "90": 0.0274},
        "live": {"scored_predictions": 4, "mae": 7.5},
    }
    server.on(
        "GET",
        "/v1/models/meta",
        ok(
            {
                "id": "meta",
                "basis": "model",
                "min_completed_projects": 40,
                "recommender": None,
                "targets": {
                    "success_score": {"champion": champion, "history": [champion]},
                    "duration_days": {"champion": None, "history": []},
                },
            }
        ),
    )
    monkeypatch.setenv("MAESTRO_API_URL", server.url)
    monkeypatch.setenv("MAESTRO_API_KEY", "mml_test_key")
    with pytest.raises(SystemExit) as ended:
        cli.main(["models", "show"])
    assert ended.value.code == 0
    printed = capsys.readouterr().out
    success = next(line for line in printed.splitlines() if "success_score" in line)
    for figure in ("2026-11-20 02:00", "8.16", "16.1", "8.65", "0.858±0.036 / 0.908±0.027", "7.5 (4)"):
        assert figure in success, printed
    assert "duration_days" in printed
    # 40 is the threshold for training, not how many projects the champions learned from (600)
    assert "models from 40 completed projects" not in printed
    assert "Basis: model (models are trained once 40 projects have completed)" in printed


def _retrain_job(state: str, detail: dict) -> dict:
    return {
        "id": "job_1",
        "kind": "meta_retrain",
        "state": state,
        "progress": 1.0,
        "detail": detail,
        "created_at": "2026-12-05T12:05:39+00:00",
        "updated_at": "2026-12-05T12:07:26+00:00",
    }


TRAINED_DETAIL = {
    "outcome": "trained",
    "seconds": 71.2,
    "completed_projects": 300,
    "min_completed_projects": 40,
    "training_data": {"projects": 310, "used": 300},
    "targets": {
        "success_score": {
            "version": "2",
            "holdout": {"mae": 9.7343},
            "baselines": {"tenant_mean": {"holdout_mae": 15.6591}},
            "champion": {"moved": False, "champion_version": "1", "reason": "not better than the champion"},
        },
        "duration_days": {
            "version": "2",
            "holdout": {"mae": 8.5597},
            "baselines": {"tenant_mean": {"holdout_mae": 13.2918}},
            "champion": {"moved": True, "champion_version": "1", "reason": "lower hold-out MAE than the champion"},
        },
    },
    "recommender": {"version": "2", "ndcg_at_10": 0.2966, "most_popular_ndcg_at_10": 0.2834, "validation_projects": 75},
}


@pytest.mark.parametrize(
    ("job", "expected", "absent"),
    [
        (
            _retrain_job("succeeded", TRAINED_DETAIL),
            [
                "Trained on 300 of 310 projects in 71.2 s.",
                "success_score: version 2, hold-out MAE 9.73 (tenant mean 15.7): version 1 stays the champion "
                "(not better than the champion).",
                "duration_days: version 2, hold-out MAE 8.56 (tenant mean 13.3): promoted to champion "
                "(lower hold-out MAE than the champion).",
                "recommender: version 2 nDCG@10 0.297 (most popular 0.283) on 75 validation projects.",
            ],
            ['"targets"'],  # the raw detail is --json's, not the table's
        ),
        (
            _retrain_job(
                "succeeded", {"outcome": "insufficient_history", "completed_projects": 3, "min_completed_projects": 40}
            ),
            ["Not trained: 3 completed projects, the models need 40; predictions use the tenant's priors until then."],
            ["Trained on"],
        ),
        (
            _retrain_job("failed", {"error": "MlflowException", "message": "registry unreachable"}),
            ["Failed: MlflowException: registry unreachable"],
            ["Trained on"],
        ),
    ],
    ids=["trained", "insufficient-history", "failed"],
)
def test_models_job_says_what_the_retrain_learned_and_which_champion_serves(
    server, monkeypatch, capsys, job, expected, absent
):
    from maestro_client import cli

    server.on("GET", "/v1/models/meta/jobs/job_1", ok(job))
    monkeypatch.setenv("MAESTRO_API_URL", server.url)
    monkeypatch.setenv("MAESTRO_API_KEY", "mml_test_key")
    with pytest.raises(SystemExit) as ended:
        cli.main(["models", "job", "job_1"])
    assert ended.value.code == 0
    printed = capsys.readouterr().out
    lines = [line.strip() for line in printed.splitlines()]
    for sentence in expected:
        assert sentence in lines, printed
    for text in absent:
        assert text not in printed, printed
    assert any(line.startswith("state") and job["state"] in line for line in lines), printed


def _analytics_answers(project_id: str) -> dict[str, dict]:
    period = {"start": "2026-01-05T00:00:00+00:00", "end": "2026-03-02T00:00:00+00:00", "weeks": 8.0}
    none = {"value": None, "band": "insufficient_data"}
    return {
        "git": {
            "period": period,
            "commits": 120,
            "commits_per_week": {"mean": 15.0},
            "active_contributors": 1,
            "bus_factor": 1,
            "top_author_share": 1.0,
            "lines_added": 5200.0,
            "lines_deleted": 1300.0,
            "prs_merged": {"count": 0, "per_week": None},
            "pr_merge_hours": {"count": 0, "p50": None, "p90": None},
        },
        "ci": {
            "period": period,
            "pipeline_runs": 40,
            "success_rate": 0.75,
            "duration_seconds": {"count": 40, "p50": 312.0, "p90": 540.0},
            "flaky_workflows": [{"workflow": "tests", "flaky_runs": 3, "run_ids": ["1", "2", "3"]}],
        },
        "dora": {
            "period": period,
            "scope": "production",
            "deployment_frequency": {"value": 2.5, "band": "high"},
            "lead_time_for_changes": {"value": 30.0, "band": "high"},
            "change_failure_rate": {"value": 0.1, "band": "elite"},
            "time_to_restore": none,
        },
        "velocity": {"project_id": project_id, "score": 71.4, "basis": "tenant_history", "history_size": 12},
        "team-analytics": {"recommendations": [{"id": "bus_factor", "text": "One person wrote every commit."}]},
    }


def test_metrics_report_prints_each_source_of_the_period_and_sends_a_date_as_a_zoned_time(server, monkeypatch, capsys):
    from maestro_client import cli

    server.on("GET", "/v1/projects/prj_1", ok({"id": "prj_1", "name": "churn"}))
    for route, answer in _analytics_answers("prj_1").items():
        server.on("GET", f"/v1/projects/prj_1/{route}", ok(answer))
    monkeypatch.setenv("MAESTRO_API_URL", server.url)
    monkeypatch.setenv("MAESTRO_API_KEY", "mml_test_key")
    with pytest.raises(SystemExit) as ended:
        cli.main(["metrics", "report", "--project", "prj_1", "--from", "2026-01-05", "--to", "2026-03-02T00:00+01:00"])
    assert ended.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "churn (prj_1): 2026-01-05 to 2026-03-02 (8.0 weeks)",
        "Git: 120 commits (15 a week) by 1 contributor; bus factor 1, top author 100% of commits; lines +5,200 -1,300",
        "Pull requests: none merged in this period",
        "CI: 40 pipeline runs, 75% passed; duration p50 312 s, p90 540 s; flaky workflows: tests (3)",
        "DORA (production): deployments a week 2.5 (high); lead time (h) 30 (high); change failure rate 0.1 (elite); "
        "time to restore (h) - (insufficient data)",
        "Velocity: 71 of 100 against 12 projects of the same weeks",
        "Team recommendations:",
        "  - One person wrote every commit.",
    ]
    asked = [r for r in server.requests if r["path"].startswith("/v1/projects/prj_1/")]
    assert len(asked) == 5
    for request in asked:  # the API wants a zone: a bare date is midnight UTC, a zoned time keeps its zone
        assert request["query"]["from"] == ["2026-01-05T00:00:00+00:00"]
        assert request["query"]["to"] == ["2026-03-02T00:00:00+01:00"]


def test_metrics_report_refuses_a_malformed_date_before_any_request(server, monkeypatch, capsys):
    from maestro_client import cli

    monkeypatch.setenv("MAESTRO_API_URL", server.url)
    monkeypatch.setenv("MAESTRO_API_KEY", "mml_test_key")
    with pytest.raises(SystemExit) as ended:
        cli.main(["metrics", "report", "--project", "prj_1", "--from", "last tuesday"])
    assert ended.value.code == 1
    assert "'last tuesday' is not an ISO date or time" in capsys.readouterr().err
    assert server.requests == []


def test_the_client_sends_dates_and_naive_times_as_zoned_instants(server):
    from datetime import date, datetime, timedelta, timezone

    from maestro_client import Client

    server.on("GET", "/v1/projects/prj_1/git", ok({"id": "prj_1:git"}))
    client = Client(server.url, api_key="mml_test_key")
    client.git_analytics("prj_1", from_=date(2026, 1, 5), to=datetime(2026, 3, 2, 12, 30))
    client.git_analytics("prj_1", from_=datetime(2026, 1, 5, tzinfo=timezone(timedelta(hours=2))), to="2026-03-02")
    first, second = (request["query"] for request in server.requests)
    # the API's period parameters want a zone (422 without): a date is midnight UTC, a naive datetime is UTC
    assert first == {"from": ["2026-01-05T00:00:00+00:00"], "to": ["2026-03-02T12:30:00+00:00"]}
    assert second == {"from": ["2026-01-05T00:00:00+02:00"], "to": ["2026-03-02"]}  # zoned kept; a string as given


def test_recommend_prints_team_shapes_as_counts_and_intervals_not_json(server, monkeypatch, capsys, tmp_path):
    from pathlib import Path

    from maestro_client import cli

    recorded = Path(__file__).parents[1] / "events" / "console" / "recommendations.json"  # an API answer
    server.on("POST", "/v1/recommendations", ok(json.loads(recorded.read_text())))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"problem_class": "classification", "complexity_score": 5, "team_size": 4}))
    monkeypatch.setenv("MAESTRO_API_URL", server.url)
    monkeypatch.setenv("MAESTRO_API_KEY", "mml_test_key")
    with pytest.raises(SystemExit) as ended:
        cli.main(["recommend", "--profile", str(plan)])
    assert ended.value.code == 0
    printed = capsys.readouterr().out
    team = printed[printed.index("Team shape") :]
    current = next(line for line in team.splitlines() if "current" in line)
    for cell in ("4", "analyst 1, data engineer 1, ml engineer 1, ml scientist 1", "mid 2, junior 1, senior 1"):
        assert cell in current, team
    assert "53.1 (31.7–73.8)" in current and "59.7 (45.2–66)" in current
    recommended = next(line for line in team.splitlines() if "recommended" in line)
    assert "ml scientist 3" in recommended and "senior 3" in recommended and "60.2 (34.5–78.1)" in recommended
    assert "{" not in team  # no JSON blobs in the table
    assert (
        "The recommended team: +7.1 success points, 6.1 days saved (together 1.48 × the models' hold-out MAE), "
        "best of 27 team shapes considered." in printed
    )


def test_alias_moves_send_the_revision_as_the_other_guarded_writes_do(server):
    server.on("PUT", "/v1/artifacts/art_1/aliases/champion", ok({"id": "art_1:champion"}))
    server.on("DELETE", "/v1/artifacts/art_1/aliases/champion", ok({"id": "art_1:champion"}))
    client = Client(server.url, api_key="mml_test_key")
    client.set_alias("art_1", "champion", "1.2.0", if_match=3)
    client.remove_alias("art_1", "champion", if_match='"4"')  # an ETag as the API sent it: not quoted again
    client.remove_alias("art_1", "champion")
    sent = [request["headers"].get("if-match") for request in server.requests]
    assert sent == ['"3"', '"4"', None]


def test_the_clis_enum_choices_are_the_apis():
    from maestro.domain.projects import ExperienceLevel, MemberRole, ProblemClass, ProjectStatus
    from maestro_client import cli

    assert cli.PROBLEM_CLASSES == [c.value for c in ProblemClass]
    assert cli.MEMBER_ROLES == [r.value for r in MemberRole]
    assert cli.EXPERIENCE_LEVELS == [e.value for e in ExperienceLevel]
    assert set(cli.PROJECT_STATUSES) == {s.value for s in ProjectStatus} - {"deleted"}
