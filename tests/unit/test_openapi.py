"""The OpenAPI 3.1 document: generated from the routes' own models, covering every served route and nothing
else, valid, with security, pagination and problem+json answers where they belong."""

import json
import re
from datetime import UTC

import pytest

from tests.unit.cold_start import fresh_interpreter_output

AUTHENTICATED = [{"bearerAuth": []}, {"apiKeyAuth": []}]


def _served_specs():
    import app
    from maestro.http.routes import ROUTE_REGISTRY

    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    return served, {key: spec for key, spec in ROUTE_REGISTRY.items() if key in served}


@pytest.fixture(scope="module")
def document():
    from maestro.http.openapi import build_document

    _, specs = _served_specs()
    return build_document(specs.values())


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _name(ref: dict) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def test_every_served_route_declares_its_response_model():
    _, specs = _served_specs()
    undeclared = sorted(f"{method} {path}" for (method, path), spec in specs.items() if spec.response is None)
    assert not undeclared, f"declare response= (and body=/query= where they apply) on: {undeclared}"


def test_the_document_has_every_route_and_no_other(document):
    served, _ = _served_specs()
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert documented - served == set(), "documented but not served"
    assert served - documented == set(), "served but not documented"


def test_the_document_is_valid_openapi_3_1(document):
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)
    json.dumps(document)  # and plain JSON


def test_security_schemes_are_bearer_jwt_and_the_api_key_header(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"] == {**schemes["apiKeyAuth"], "type": "apiKey", "in": "header", "name": "X-Api-Key"}


def test_every_operation_needs_credentials_except_the_public_ones(document):
    from maestro.domain.identity.permissions import PUBLIC

    _, specs = _served_specs()
    for method, path, operation in _operations(document):
        public = specs[(method, path)].permission == PUBLIC
        assert operation["security"] == ([] if public else AUTHENTICATED), f"{method} {path}"
        if not public:
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
    public = {f"{m} {p}" for m, p, o in _operations(document) if o["security"] == []}
    assert {"GET /v1/health", "GET /v1/openapi.json", "POST /v1/auth/login"} <= public


def test_list_routes_take_limit_and_cursor_and_answer_items_and_next_cursor(document):
    _, specs = _served_specs()
    schemas = document["components"]["schemas"]
    lists = [(m, p, o) for m, p, o in _operations(document) if specs[(m, p)].paginated]
    assert len(lists) >= 8
    for method, path, operation in lists:
        parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert {"limit", "cursor"} <= set(parameters), f"{method} {path}"
        assert parameters["limit"]["schema"]["maximum"] == 1000
        page = schemas[_name(operation["responses"]["200"]["content"]["application/json"]["schema"])]
        assert {"items", "next_cursor"} <= set(page["required"]), f"{method} {path}"
        assert page["properties"]["items"]["type"] == "array"
        assert {"type": "null"} in page["properties"]["next_cursor"]["anyOf"]


def test_errors_are_problem_json_with_the_statuses_that_apply(document):
    responses = document["components"]["responses"]
    for status, response in responses.items():
        assert _name(response["content"]["application/problem+json"]["schema"]) == "ProblemDetails", status
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert {"type", "title", "status"} <= set(problem["required"])
    operations = {(m, p): o["responses"] for m, p, o in _operations(document)}
    for (_method, _path), answers in operations.items():
        assert "400" in answers
        for status, answer in answers.items():
            if int(status) >= 400:
                assert answer["$ref"] == f"#/components/responses/Problem{status}"
    assert "404" in operations[("GET", "/v1/projects/{project_id}")]
    assert "412" in operations[("PATCH", "/v1/users/{user_id}")]
    assert "422" in operations[("POST", "/v1/projects")]
    assert "409" in operations[("POST", "/v1/artifacts")]
    assert "429" in operations[("POST", "/v1/auth/login")]


def test_request_bodies_are_the_models_the_views_parse(document):
    _, specs = _served_specs()
    with_body = 0
    for method, path, operation in _operations(document):
        spec = specs[(method, path)]
        if spec.body is None:
            assert "requestBody" not in operation, f"{method} {path}"
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _name(schema).startswith(spec.body.__name__), f"{method} {path}"
        with_body += 1
    assert with_body >= 20


def test_path_parameters_come_from_the_path(document):
    for method, path, operation in _operations(document):
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert names == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"


def test_a_view_cannot_parse_a_body_other_than_the_declared_one():
    from chalice import Blueprint, Chalice
    from chalice.test import Client

    from maestro.domain.identity.permissions import PUBLIC
    from maestro.http.api import json_response, problem_middleware
    from maestro.http.requests import RequestModel
    from maestro.http.routes import ROUTE_REGISTRY, RouteKit

    class Declared(RequestModel):
        name: str

    class Other(RequestModel):
        name: str

    blueprint = Blueprint(__name__)
    kit = RouteKit(blueprint)

    @kit.route("/declared", methods=["POST"], permission=PUBLIC, body=Declared, response=None)
    def declared(scope):
        return json_response(scope.body().model_dump())

    @kit.route("/other", methods=["POST"], permission=PUBLIC, body=Declared)
    def other(scope):
        return json_response(scope.body(Other).model_dump())

    app = Chalice(app_name="openapi-kit-test")
    app.register_middleware(problem_middleware, "http")
    app.register_blueprint(blueprint)
    try:
        with Client(app, stage_name="test") as client:
            headers = {"Content-Type": "application/json"}
            assert client.http.post("/declared", headers=headers, body='{"name": "a"}').json_body == {"name": "a"}
            assert client.http.post("/declared", headers=headers, body="{}").status_code == 422
            assert client.http.post("/other", headers=headers, body='{"name": "a"}').status_code == 500
    finally:
        for key in [("POST", "/declared"), ("POST", "/other")]:
            ROUTE_REGISTRY.pop(key, None)


def test_loading_the_app_builds_no_model_schema():
    """Cold start: models are only built when the document is (or a body is parsed), never at import."""
    probe = (
        "import app\nfrom pydantic import BaseModel\nfrom maestro.http.routes import ROUTE_REGISTRY\n"
        "built = {m.__name__ for s in ROUTE_REGISTRY.values() for m in (s.body, s.response, s.query)\n"
        "         if isinstance(m, type) and issubclass(m, BaseModel) and m.__pydantic_complete__}\n"
        "print(sorted(built))"
    )
    assert fresh_interpreter_output(probe) == "[]"


# ---------------------------------------------------------------- found by the contract walk (schemathesis)
@pytest.mark.parametrize("field", ["name", "description", "complexity_score", "team_size", "repositories", "features"])
def test_a_project_patch_cannot_null_a_field_the_project_always_has(field):
    from functions.projects import ProjectPatch
    from maestro.domain.errors import ValidationFailed
    from maestro.http.requests import parse_model

    with pytest.raises(ValidationFailed):
        parse_model(ProjectPatch, {field: None})
    assert parse_model(ProjectPatch, {"start_date": None, "mlflow_experiment": None}).model_dump(
        exclude_unset=True
    ) == {"start_date": None, "mlflow_experiment": None}


def test_a_project_patch_checks_repositories_as_creation_does():
    from functions.projects import ProjectPatch
    from maestro.domain.errors import ValidationFailed
    from maestro.http.requests import parse_model

    with pytest.raises(ValidationFailed):
        parse_model(ProjectPatch, {"repositories": [""]})
    assert parse_model(ProjectPatch, {"repositories": ["acme/ml"]}).repositories == ["acme/ml"]


@pytest.mark.parametrize("field", ["description", "tags", "metadata"])
def test_an_artifact_patch_cannot_null_a_field_the_artifact_always_has(field):
    from functions.artifacts import ArtifactPatch
    from maestro.domain.errors import ValidationFailed
    from maestro.http.requests import parse_model

    with pytest.raises(ValidationFailed):
        parse_model(ArtifactPatch, {field: None})
    assert parse_model(ArtifactPatch, {"deprecated": None}).model_dump(exclude_unset=True) == {"deprecated": None}


def test_an_empty_replacement_id_is_refused_not_looked_up():
    # found by schemathesis: "" reached DynamoDB as a key and answered 500
    from functions.artifacts import ArtifactPatch
    from maestro.domain.errors import ValidationFailed
    from maestro.http.requests import parse_model

    with pytest.raises(ValidationFailed):
        parse_model(ArtifactPatch, {"deprecated": {"reason": "old", "replacement_id": ""}})


@pytest.mark.parametrize("value", [1e-300, -1e-300, 1e200, -1e200])
def test_a_metric_value_outside_the_storable_range_is_rejected_not_a_500(value):
    from datetime import datetime

    from maestro.domain.metrics import MetricRejected, normalise

    def event(v):
        return {"project_id": "prj_1", "metric_type": "commits", "value": v, "timestamp": "2026-01-01T00:00:00Z"}

    now = datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(MetricRejected, match="magnitude"):
        normalise(event(value), project_id=None, custom_types={}, source="api", now=now)
    if value > 0:
        assert normalise(event(0), project_id=None, custom_types={}, source="api", now=now).value == 0


def test_member_hours_are_kept_to_the_hundredth():
    from functions.projects import MemberIn

    member = MemberIn.model_validate(
        {"display_name": "x", "role": "analyst", "experience_level": "mid", "contribution_hours": 4e-272}
    )
    assert member.contribution_hours == 0
