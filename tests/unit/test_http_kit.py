"""The handler kit on a small Chalice app, invoked in-process with Chalice's test client (no AWS)."""

import json
from enum import StrEnum

import pytest
from chalice import Blueprint, Chalice
from chalice.test import Client
from pydantic import BaseModel, Field

from maestro.domain.errors import Conflict
from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response, problem_middleware
from maestro.http.requests import UtcDatetime
from maestro.http.routes import ROUTE_REGISTRY, RouteKit
from maestro.http.schemas import QueryModel

kit_api = Blueprint(__name__)
routes = RouteKit(kit_api)


class WidgetIn(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=1, le=10)


@routes.route("/widgets", methods=["POST"], permission=PUBLIC, body=WidgetIn)
def create_widget(scope):
    widget = scope.body()
    if widget.name == "taken":
        raise Conflict("a widget named taken exists", name=widget.name)
    return json_response({"id": "w1", **widget.model_dump()}, status=201)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class WidgetQuery(QueryModel):
    colour: Colour | None = None
    size: int = Field(default=3, ge=1, le=10)
    since: UtcDatetime | None = Field(default=None, alias="since")
    tags: list[str] = Field(default_factory=list)


@routes.route("/widgets", methods=["GET"], permission=PUBLIC, query=WidgetQuery, paginated=True)
def list_widgets(scope):
    params = scope.params
    return json_response(
        {
            "colour": params.colour,
            "size": params.size,
            "since": params.since.isoformat() if params.since else None,
            "tags": params.tags,
            "limit": params.limit,
            "cursor": params.cursor,
        }
    )


@routes.put("/widgets/{widget_id}", permission=PUBLIC, body=WidgetIn)
def replace_widget(scope, widget_id):
    return json_response({"id": widget_id, **scope.body().model_dump()})


@routes.delete("/widgets/{widget_id}", permission=PUBLIC)
def delete_widget(scope, widget_id):
    return json_response({"id": widget_id, "deleted": True})


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


# ---------------------------------------------------------------- query parameters: parsed by the kit
def test_the_query_string_arrives_typed_with_page_parameters(client):
    response = client.http.get(
        "/widgets?colour=blue&size=7&since=2026-03-02T01:00:00%2B01:00&tags=a,b&tags=c&cursor=xyz"
    )
    assert response.status_code == 200, response.body
    assert response.json_body == {
        "colour": "blue",
        "size": 7,
        "since": "2026-03-02T00:00:00+00:00",  # handed on as UTC
        "tags": ["a", "b", "c"],
        "limit": 50,
        "cursor": "xyz",
    }
    defaults = client.http.get("/widgets").json_body
    assert (defaults["colour"], defaults["size"], defaults["tags"], defaults["limit"]) == (None, 3, [], 50)


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("limit=", "limit"),
        ("colour=green", "colour"),
        ("size=11", "size"),
        ("since=2026-03-02", "since"),  # no time zone
        ("since=yesterday", "since"),
    ],
)
def test_a_malformed_or_out_of_range_parameter_is_422_naming_it(client, query, field):
    response = client.http.get(f"/widgets?{query}")
    assert response.status_code == 422
    body = _problem(response)
    assert [error["field"] for error in body["errors"]] == [field]
    assert field in body["detail"]


def test_every_bad_parameter_is_named_at_once(client):
    body = _problem(client.http.get("/widgets?limit=x&colour=green&size=0"))
    assert {error["field"] for error in body["errors"]} == {"limit", "colour", "size"}


def test_parameters_the_route_does_not_declare_are_ignored(client):
    assert client.http.get("/widgets?colour=red&utm_source=mail").json_body["colour"] == "red"


def test_the_body_is_parsed_once_into_the_declared_model():
    from maestro.http.routes import RequestScope

    class Request:
        raw_body = b'{"name": "a", "size": 2}'

    scope = RequestScope(Request(), None, None, spec=type("Spec", (), {"body": WidgetIn})())
    body = scope.body()
    assert isinstance(body, WidgetIn) and (body.name, body.size) == ("a", 2)
    assert scope.body() is body


def test_a_method_shortcut_declares_that_one_method_with_the_same_contract(client):
    replaced = client.http.put(
        "/widgets/w7", headers={"Content-Type": "application/json"}, body=json.dumps({"name": "gear", "size": 4})
    )
    assert replaced.status_code == 200 and json.loads(replaced.body) == {"id": "w7", "name": "gear", "size": 4}
    refused = client.http.put("/widgets/w7", headers={"Content-Type": "application/json"}, body='{"name": ""}')
    assert refused.status_code == 422  # the body model declared through the shortcut is enforced
    assert json.loads(client.http.delete("/widgets/w7").body) == {"id": "w7", "deleted": True}
    assert client.http.get("/widgets/w7").status_code == 405
    assert ROUTE_REGISTRY[("PUT", "/widgets/{widget_id}")].body is WidgetIn
    assert ROUTE_REGISTRY[("DELETE", "/widgets/{widget_id}")].view_name == "delete_widget"
    assert ("GET", "/widgets/{widget_id}") not in ROUTE_REGISTRY
