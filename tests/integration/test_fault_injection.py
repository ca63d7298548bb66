"""Fault injection on the local stack: a hook below the SDKs' retry logic (botocore's Endpoint._send, which
every boto3 and pynamodb call of the in-process API and of the local event dispatcher goes through) makes a given
share of DynamoDB calls throttle (ProvisionedThroughputExceededException, ThrottlingException), fail with 500 or
time out, and a given share of S3 calls fail with 500 InternalError, 503 SlowDown or a read timeout.
Under each fault the API answers 2xx or 503 problem+json with Retry-After, never a 500; afterwards the audit
chain verifies, the tenant's counters equal its rows, and the event handlers' failures sit in their dead-letter
queues, from which a replay ingests exactly once. Prints the share of requests that succeeded and what was lost.

The SDK's retries still happen (same attempts, same errors); only their backoff sleeps are shortened while a
fault is injected, so a 50 % fault costs seconds of CI, not minutes."""

import hashlib
import json
import random
import threading
import time
import uuid

import botocore.endpoint
import botocore.retries.standard
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

pytestmark = pytest.mark.integration

DYNAMODB_FAULTS = {
    "throughput": (400, "ProvisionedThroughputExceededException"),
    "throttling": (400, "ThrottlingException"),
    "server_error": (500, "InternalServerError"),
    "timeout": None,
}
# S3 answers in XML; each injected S3 fault is one of these, picked at random.
S3_FAULTS = {"internal_error": (500, "InternalError"), "slow_down": (503, "SlowDown"), "timeout": None}
BACKOFF_SCALE = 0.05
S3_EVENT_HANDLERS = ("ingest_object_created", "verify_artifact_upload", "embed_artifacts")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args, **kwargs):
        yield self._body


SDK_ATTEMPTS = 3  # maestro.aws_clients: standard retry mode, max_attempts 3


class FaultInjector:
    """Replaces a share of calls to one service with a fault; counts what it did.
    `per_operation=False`: each HTTP attempt is drawn on its own (the SDK's retries often get through);
    `per_operation=True`: a share of operations fail on all their SDK attempts (a hot partition, an outage
    seen by that request), so the caller itself sees the fault at the given share."""

    def __init__(self, service: str, fault: str, share: float, seed: int = 15, per_operation: bool = False) -> None:
        self.service, self.fault, self.share, self.per_operation = service, fault, share, per_operation
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.failing: dict[tuple, int] = {}  # a failing operation's request -> its SDK attempts still to fail
        self.calls = self.injected = 0
        self.kinds: dict[str, int] = {}
        self.original = botocore.endpoint.Endpoint._send
        self.original_delay = botocore.retries.standard.ExponentialBackoff.delay_amount

    def _targets(self, request) -> bool:
        if self.service == "dynamodb":
            return (request.headers.get("X-Amz-Target") or b"").startswith(b"DynamoDB_")
        from maestro.settings import get_settings

        return "X-Amz-Target" not in request.headers and f"/{get_settings().artifact_bucket}" in request.url

    def __enter__(self):
        injector = self

        def send(endpoint, request):
            if injector._targets(request):
                with injector.lock:
                    injector.calls += 1
                    hit = injector._draw(request)
                    injector.injected += hit
                if hit:
                    return injector._fault(request)
            return injector.original(endpoint, request)

        def delay(backoff, context):
            return injector.original_delay(backoff, context) * BACKOFF_SCALE

        botocore.endpoint.Endpoint._send = send
        botocore.retries.standard.ExponentialBackoff.delay_amount = delay
        return self

    def _draw(self, request) -> bool:
        if not self.per_operation:
            return self.random.random() < self.share
        body = request.body if isinstance(request.body, (bytes, str)) else id(request.body)  # a stream: its object
        key = (request.method, request.url, body)
        if self.failing.get(key):  # a retry of an operation chosen to fail
            self.failing[key] -= 1
            return True
        hit = self.random.random() < self.share
        if hit:
            self.failing[key] = SDK_ATTEMPTS - 1
        return hit

    def __exit__(self, *exc):
        botocore.endpoint.Endpoint._send = self.original
        botocore.retries.standard.ExponentialBackoff.delay_amount = self.original_delay

    def _fault(self, request):
        if self.service == "s3":
            with self.lock:
                kind = self.random.choice(sorted(S3_FAULTS)) if self.fault == "mixed" else self.fault
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if S3_FAULTS[kind] is None:
                raise ReadTimeoutError(endpoint_url=request.url)
            status, code = S3_FAULTS[kind]
            body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
            return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))
        spec = DYNAMODB_FAULTS[self.fault]
        if spec is None:
            raise ReadTimeoutError(endpoint_url=request.url)
        status, code = spec
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))


def _workload(client, rounds: int):
    """Mixed writes and reads: create a project, read it, list projects, record a metric."""
    answers = []
    for n in range(rounds):
        created = client.post(
            "/v1/projects", json={"name": f"f{n}", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
        )
        answers.append(("create", created))
        if created.status_code == 201:
            answers.append(("read", client.get(f"/v1/projects/{created.json()['id']}")))
        answers.append(("list", client.get("/v1/projects", params={"limit": 5})))
    return answers


def _check_answers(answers):
    for _kind, response in answers:
        assert response.status_code != 500, response.text
        if response.status_code == 503:
            assert response.headers["Content-Type"] == "application/problem+json"
            assert int(response.headers["Retry-After"]) >= 1
            assert "Traceback" not in response.text
        else:
            assert response.status_code < 400 or response.status_code == 404, response.text


def _converged(tenant):
    verify = tenant.admin.get("/v1/audit/verify")
    assert verify.status_code == 200 and verify.json()["intact"] is True, verify.text
    projects, cursor = [], None
    while True:
        page = tenant.admin.get("/v1/projects", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        projects += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    usage = tenant.admin.get("/v1/tenant").json()
    assert usage["quotas"]["projects"]["used"] == len(projects)
    return len(projects)


@pytest.mark.parametrize("share", [0.05, 0.5])
@pytest.mark.parametrize("fault", sorted(DYNAMODB_FAULTS))
def test_dynamodb_faults_answer_503_or_success_and_nothing_is_half_written(new_tenant, fault, share):
    tenant = new_tenant()
    with FaultInjector("dynamodb", fault, share) as injector:
        answers = _workload(tenant.admin, 12)
    _check_answers(answers)
    created = sum(1 for kind, r in answers if kind == "create" and r.status_code == 201)
    stored = _converged(tenant)
    # A create that answered 503 may still have committed (the answer was lost): never the other way round.
    assert stored >= created
    ok = sum(1 for _, r in answers if r.status_code < 400)
    print(
        f"\nfault dynamodb/{fault} at {share:.0%}: {ok}/{len(answers)} requests succeeded "
        f"({ok / len(answers):.0%}), {injector.injected}/{injector.calls} calls faulted, "
        f"creates answered 201: {created}, projects stored: {stored}"
    )


# ---------------------------------------------------------------- S3 faults
def _publish_version(client, data: bytes):
    """Declare, upload (straight to S3 through the presigned URL: no platform call) and complete one version."""
    artifact = client.post("/v1/artifacts", json={"name": f"f {uuid.uuid4().hex[:8]}", "type": "model"})
    assert artifact.status_code == 201, artifact.text
    artifact_id = artifact.json()["id"]
    declared = client.post(
        f"/v1/artifacts/{artifact_id}/versions",
        json={
            "version": "1.0.0",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": "application/octet-stream",
        },
    )
    assert declared.status_code == 201, declared.text
    upload = declared.json()["upload"]
    assert requests.put(upload["url"], data=data, headers=upload["headers"], timeout=10).status_code == 200
    return artifact_id, client.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete")


def _drop(client, project_id, n: int):
    """A JSONL drop of two events (the S3 drop handler ingests it), then its status (a HEAD on S3)."""
    created = client.post(f"/v1/projects/{project_id}/ingest-uploads", json={"file_name": f"drop{n}.jsonl"})
    assert created.status_code == 201, created.text
    upload = created.json()
    lines = [
        {"metric_type": "experiment_run", "value": 1, "timestamp": f"2026-03-{n + 1:02d}T0{i}:00:00Z"} for i in (1, 2)
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    assert requests.put(upload["upload"]["url"], data=body, headers=upload["upload"]["headers"], timeout=10).ok
    return upload["id"], client.get(f"/v1/projects/{project_id}/ingest-uploads/{upload['id']}")


def _queue_settled(handler_name, queues, timeout_s=12.0) -> bool:
    """No message of this handler is waiting or in flight: each was handled or dead-lettered."""
    from maestro.aws_clients import client

    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attributes = client("sqs").get_queue_attributes(QueueUrl=queues[handler_name][0], AttributeNames=names)
        if all(attributes["Attributes"][name] == "0" for name in names):
            return True
        time.sleep(0.2)
    return False


def _until(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    return predicate()


def _metric_counts(tenant_id, project_id, metric_type="experiment_run"):
    """(events stored, sum of the day aggregates' counts): equal when nothing was half-written."""
    from maestro.repositories import metrics as store

    events = len(list(store.events_in_period(tenant_id, project_id, metric_type, None, None)))
    aggregated = sum(int(row.count) for row in store.day_aggregates(tenant_id, project_id, metric_type))
    return events, aggregated


@pytest.mark.parametrize("share", [0.05, 0.5, 1.0])
def test_s3_faults_answer_503_or_success_and_converge_after_a_replay(tenant, local_stack, dispatcher, share):
    """Artifact version completes and drop status reads (API), and the drop and upload-verification handlers
    (events), while a share of S3 calls fail; 100 % is an outage, where every answer is a 503 and every event
    is dead-lettered after three deliveries. Afterwards a DLQ replay and the clients' retries converge."""
    from infra.local.replay_dlq import replay_dead_letters
    from maestro.settings import get_settings

    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "s3f", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
    ).json()["id"]
    payloads = [f"weights {n} ".encode() * 300 for n in range(3)]
    with FaultInjector("s3", "mixed", share, seed=int(share * 100)) as injector:
        versions = [_publish_version(tenant.admin, data) for data in payloads]
        drops = [_drop(tenant.admin, project_id, n) for n in range(3)]
        # The drop, verification and embedding (ArtifactChanged: vector + search-index snapshot on S3) handlers
        # meet the same faults: retried, then dead-lettered.
        for handler in S3_EVENT_HANDLERS:
            assert _queue_settled(handler, local_stack), handler
    answers = [("complete", r) for _, r in versions] + [("drop_status", r) for _, r in drops]
    _check_answers(answers)
    ok = sum(1 for _, r in answers if r.status_code < 400)

    replayed = replay_dead_letters(get_settings(), local_stack, list(S3_EVENT_HANDLERS))
    if share == 1.0:  # an outage: nothing succeeded, and every event of this test waited in a dead-letter queue
        assert ok == 0 and all(r.status_code == 503 for _, r in answers)
        assert replayed["ingest_object_created"] >= len(drops)
        assert replayed["verify_artifact_upload"] >= len(versions) and replayed["embed_artifacts"] >= len(versions)
    # Converged: every version ready (a client retries complete after its 503), counted once in stored bytes;
    # every drop ingested exactly once.
    for artifact_id, _ in versions:
        completed = tenant.admin.post(f"/v1/artifacts/{artifact_id}/versions/1.0.0/complete")
        assert completed.status_code == 200 and completed.json()["status"] == "ready", completed.text
    stored_bytes = tenant.admin.get("/v1/tenant").json()["quotas"]["stored_bytes"]["used"]
    assert stored_bytes == sum(len(data) for data in payloads)
    for upload_id, _ in drops:
        state = _until(
            lambda upload_id=upload_id: (
                tenant.admin.get(f"/v1/projects/{project_id}/ingest-uploads/{upload_id}").json().get("state")
                == "ingested"
            )
        )
        assert state, upload_id
    assert _until(lambda: _metric_counts(tenant.tenant_id, project_id) == (6, 6)), _metric_counts(
        tenant.tenant_id, project_id
    )
    # Every artifact embedded once the embedding events were replayed: semantic search counts none missing.
    search = {"query": "weights", "mode": "semantic"}
    assert _until(lambda: "not_embedded" not in tenant.admin.post("/v1/artifacts/search", json=search).json())
    verify = tenant.admin.get("/v1/audit/verify")
    assert verify.status_code == 200 and verify.json()["intact"] is True
    print(
        f"\nfault s3/mixed at {share:.0%}: {ok}/{len(answers)} requests succeeded ({ok / len(answers):.0%}), "
        f"{injector.injected}/{injector.calls} calls faulted {injector.kinds}, dead letters replayed {replayed}, "
        f"lost: nothing (3/3 versions ready and embedded, {stored_bytes} bytes counted once, 6/6 drop events stored once)"
    )


# ---------------------------------------------------------------- event handlers: retries, DLQ, replay
EVENTS_PER_RECORD = 30  # two ingestion transactions (25 + 5) per record: a record can fail halfway


def _process_metrics_entries(tenant_id, project_id, first: int, count: int):
    """`count` ProcessMetrics events of EVENTS_PER_RECORD metric events each, all distinct (day `first` + n)."""
    from datetime import date, timedelta

    entries = []
    for n in range(first, first + count):
        day = (date(2026, 1, 1) + timedelta(days=n)).isoformat()
        events = [
            {"metric_type": "experiment_run", "value": 1, "timestamp": f"{day}T{i // 60:02d}:{i % 60:02d}:00Z"}
            for i in range(EVENTS_PER_RECORD)
        ]
        detail = {"tenant_id": tenant_id, "project_id": project_id, "events": events}
        entries.append({"Source": "maestro.ingest", "DetailType": "ProcessMetrics", "Detail": json.dumps(detail)})
    return entries


def test_ingestion_events_dead_lettered_under_dynamodb_faults_replay_exactly_once(tenant, local_stack, dispatcher):
    """The SQS-fed ingestion handler under 50 % DynamoDB 500s: each transaction is all-or-nothing (rows and day
    aggregates agree), a record failing maxReceiveCount (3) times lands in the dead-letter queue, and after the
    fault a replay of the DLQ stores exactly the events sent: no loss, no duplicates (a record that failed halfway
    is replayed whole; the events it had stored are duplicates, not counted twice)."""
    from infra.local.replay_dlq import replay_dead_letters
    from maestro.aws_clients import client
    from maestro.settings import get_settings

    project_id = tenant.admin.post(
        "/v1/projects", json={"name": "dlq", "problem_class": "nlp", "complexity_score": 3, "team_size": 2}
    ).json()["id"]
    sent = 8
    entries = _process_metrics_entries(tenant.tenant_id, project_id, 0, sent)
    # Half the DynamoDB operations fail (on every SDK attempt): a record needs several operations, so most
    # records fail three deliveries, some succeed, some fail halfway (a transaction stored, the next one not).
    with FaultInjector("dynamodb", "server_error", 0.5, per_operation=True) as injector:
        assert client("events").put_events(Entries=entries)["FailedEntryCount"] == 0
        assert _queue_settled("ingest_process_metrics", local_stack, timeout_s=30)
    faulted, calls = injector.injected, injector.calls
    during = _metric_counts(tenant.tenant_id, project_id)
    assert during[0] == during[1]  # each transaction all-or-nothing: rows and day aggregates agree
    expected = EVENTS_PER_RECORD * sent
    assert during[0] < expected, "no record was dead-lettered"

    replayed = replay_dead_letters(get_settings(), local_stack, ["ingest_process_metrics"])
    assert replayed["ingest_process_metrics"] >= 1
    assert _until(lambda: _metric_counts(tenant.tenant_id, project_id) == (expected, expected)), _metric_counts(
        tenant.tenant_id, project_id
    )
    # Replaying again (the DLQ is empty now) and re-sending events already stored change no count.
    replay_dead_letters(get_settings(), local_stack, ["ingest_process_metrics"])
    assert client("events").put_events(Entries=entries[:3])["FailedEntryCount"] == 0
    assert _queue_settled("ingest_process_metrics", local_stack)
    assert _metric_counts(tenant.tenant_id, project_id) == (expected, expected)
    print(
        f"\nfault dynamodb/server_error at 50% on ingestion: {faulted}/{calls} calls faulted, "
        f"{during[0]}/{expected} metric events stored during the fault ({sent} records), "
        f"{replayed['ingest_process_metrics']} dead-lettered records replayed, {expected}/{expected} stored after, "
        "no duplicates"
    )
