"""The handler kit on a small Chalice app, invoked in-process with Chalice's test client (no AWS)."""

import json

import pytest
from chalice import Blueprint, Chalice
from chalice.test import Client
from pydantic import BaseModel, Field

from maestro.domain.errors import Conflict
from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response, problem_middleware
from maestro.http.routes import RouteKit

kit_api = Blueprint(__name__)
routes = RouteKit(kit_api)


class WidgetIn(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=1, le=10)


@routes.route("/widgets", methods=["POST"], permission=PUBLIC)
def create_widget(scope):
    widget = scope.body(WidgetIn)
    if widget.name == "taken":
        raise Conflict("a widget named taken exists", name=widget.name)
    return json_response({"id": "w1", **widget.model_dump()}, status=201)


@routes.route("/boom", methods=["GET"], permission=PUBLIC)
def boom(scope):
    raise RuntimeError("secret internals /srv/app.py line 3")


@pytest.fixture(scope="module")
def client():
    app = Chalice(app_name="kit-test")
    app.register_middleware(problem_middleware, "http")
    app.register_blueprint(kit_api)
    with Client(app, stage_name="test") as test_client:
        yield test_client


def _post(client, body, headers=None):
    return client.http.post("/widgets", headers={"Content-Type": "application/json", **(headers or {})}, body=body)


def _problem(response):
    assert response.headers["Content-Type"] == "application/problem+json"
    return json.loads(response.body)


def test_valid_request_passes(client):
    response = _post(client, json.dumps({"name": "a", "size": 3}))
    assert response.status_code == 201
    assert response.json_body == {"id": "w1", "name": "a", "size": 3}


def test_bad_json_is_400_problem(client):
    response = _post(client, "{not json")
    assert response.status_code == 400
    assert "not valid JSON" in _problem(response)["detail"]


def test_missing_body_is_400_problem(client):
    assert _post(client, "").status_code == 400


def test_wrong_types_are_422_with_each_field(client):
    response = _post(client, json.dumps({"name": "", "size": "huge"}))
    body = _problem(response)
    assert response.status_code == 422
    assert {e["field"] for e in body["errors"]} == {"name", "size"}


def test_domain_conflict_is_409_with_extensions(client):
    response = _post(client, json.dumps({"name": "taken", "size": 1}))
    assert response.status_code == 409
    assert _problem(response)["name"] == "taken"


def test_oversized_body_is_413_before_the_view_runs(client):
    response = _post(client, json.dumps({"name": "x" * 1_100_000, "size": 1}))
    assert response.status_code == 413
    assert _problem(response)["limit_bytes"] == 1_048_576


def test_unsupported_media_type_is_problem_json(client):
    response = _post(client, "name=a", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    _problem(response)


def test_wrong_method_is_405_problem(client):
    response = client.http.delete("/widgets")
    assert response.status_code == 405
    _problem(response)


def test_a_bug_is_500_without_internals(client):
    response = client.http.get("/boom")
    body = _problem(response)
    assert response.status_code == 500
    assert "secret internals" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    assert body["status"] == 500
