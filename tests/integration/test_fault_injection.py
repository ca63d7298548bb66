"""Fault injection on the local stack: a hook below the SDKs' retry logic (botocore's Endpoint._send, which
every boto3 and pynamodb call of the in-process API goes through) makes a given share of DynamoDB calls throttle
(ProvisionedThroughputExceededException, ThrottlingException), fail with 500 or time out (S3 faults: not
yet).
Under each fault the API answers 2xx or 503 problem+json with Retry-After, never a 500; afterwards the audit
chain verifies and the tenant's counter equals its rows. Prints the share of requests that succeeded."""

import json
import random
import threading

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

pytestmark = pytest.mark.integration

DYNAMODB_FAULTS = {
    "throughput": (400, "ProvisionedThroughputExceededException"),
    "throttling": (400, "ThrottlingException"),
    "server_error": (500, "InternalServerError"),
    "timeout": None,
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args, **kwargs):
        yield self._body


class FaultInjector:
    """Replaces a share of calls to one service with a fault; counts what it did."""

    def __init__(self, service: str, fault: str, share: float, seed: int = 15) -> None:
        self.service, self.fault, self.share = service, fault, share
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.calls = self.injected = 0
        self.original = botocore.endpoint.Endpoint._send

    def _targets(self, request) -> bool:
        if self.service == "dynamodb":
            return (request.headers.get("X-Amz-Target") or b"").startswith(b"DynamoDB_")
        return b"X-Amz-Target" not in request.headers and "/maestro-test-artifacts" in request.url

    def __enter__(self):
        injector = self

        def send(endpoint, request):
            if injector._targets(request):
                with injector.lock:
                    injector.calls += 1
                    hit = injector.random.random() < injector.share
                    injector.injected += hit
                if hit:
                    return injector._fault(request)
            return injector.original(endpoint, request)

        botocore.endpoint.Endpoint._send = send
        return self

    def __exit__(self, *exc):
        botocore.endpoint.Endpoint._send = self.original

    def _fault(self, request):
        if self.service == "s3":
            body = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
            return AWSResponse(request.url, 500, {"Content-Type": "application/xml"}, _Raw(body))
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
