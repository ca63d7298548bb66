"""One rule for query parameters on every route, found by walking the route registry (a new list or analytics
route is covered without editing this file): a malformed or out-of-range `limit`, an unknown enum value and
a malformed date answer 422 application/problem+json naming the parameter, over HTTP against the local API."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import problem

pytestmark = pytest.mark.integration

UNKNOWN = "no-such-value"
MALFORMED_DATES = ("2026-13-45T00:00:00Z", "2026-03-02", "last tuesday")  # no such day; no time zone; not a date


def _query_routes() -> dict[tuple[str, str], type]:
    """Every served GET route whose query string the kit parses, with the model it parses it into."""
    import app
    from maestro.http.routes import ROUTE_REGISTRY

    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    return {
        key: spec.params_model
        for key, spec in ROUTE_REGISTRY.items()
        if key in served and key[0] == "GET" and spec.params_model is not None
    }


def _properties(model) -> dict[str, dict]:
    """Each parameter's JSON schema (its alias, as clients send it), nullable unions flattened."""
    schema = model.model_json_schema(mode="validation")
    definitions = schema.get("$defs", {})
    properties = {}
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        merged = {}
        for option in options:
            if "$ref" in option:
                option = definitions[option["$ref"].rsplit("/", 1)[-1]]
            if option.get("type") != "null":
                merged.update(option)
        properties[name] = {**merged, **{k: v for k, v in prop.items() if k in ("minimum", "maximum")}}
    return properties


def _bad_values(name: str, prop: dict) -> list[str]:
    """What a client could get wrong about this parameter."""
    if "enum" in prop or "const" in prop:
        return [UNKNOWN]
    if prop.get("format") == "date-time":
        return list(MALFORMED_DATES)
    if prop.get("type") == "integer":
        values = ["abc", "1.5"]
        if "minimum" in prop:
            values.append(str(prop["minimum"] - 1))
        if "maximum" in prop:
            values.append(str(prop["maximum"] + 1))
        if name == "limit":
            values += ["0", "100000"]
        return sorted(set(values))
    if prop.get("type") == "number":
        return ["abc"]
    if prop.get("type") == "boolean":
        return ["perhaps"]
    return []


def _valid_value(prop: dict) -> str:
    """A value the route accepts, for required parameters other than the one under test."""
    if "enum" in prop:
        return str(prop["enum"][0])
    return "commits"  # the only required free-text parameter today: a metric type (any string parses)


@pytest.fixture(scope="module")
def owned_ids(api_url):
    from tests.integration.conftest import TenantFixture

    tenant = TenantFixture(api_url, "Params")
    project = tenant.admin.post(
        "/v1/projects", json={"name": "p", "problem_class": "classification", "complexity_score": 3, "team_size": 2}
    )
    artifact = tenant.admin.post("/v1/artifacts", json={"name": "a", "type": "dataset"})
    assert project.status_code == 201 and artifact.status_code == 201, (project.text, artifact.text)
    return tenant, {"project_id": project.json()["id"], "artifact_id": artifact.json()["id"]}


def test_the_walk_covers_the_list_and_analytics_routes():
    routes = _query_routes()
    for key in [
        ("GET", "/v1/projects"),
        ("GET", "/v1/artifacts"),
        ("GET", "/v1/artifacts/top"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/users"),
        ("GET", "/v1/projects/{project_id}/metrics"),
        ("GET", "/v1/projects/{project_id}/dora"),
        ("GET", "/v1/projects/{project_id}/similar"),
        ("GET", "/v1/artifacts/{artifact_id}/lineage"),
    ]:
        assert key in routes, key
    declared = {name for model in routes.values() for name in _properties(model)}
    assert {"limit", "cursor", "status", "type", "bucket", "from", "to", "depth"} <= declared


def test_every_bad_parameter_on_every_route_is_422_naming_it(owned_ids):
    tenant, ids = owned_ids
    checked, kinds = 0, set()
    for (method, path), model in sorted(_query_routes().items()):
        url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), f"missing-{m.group(1)}"), path)
        properties = _properties(model)
        required = set(model.model_json_schema(mode="validation").get("required", []))
        for name, prop in properties.items():
            for value in _bad_values(name, prop):
                params = {other: _valid_value(properties[other]) for other in required if other != name}
                response = tenant.admin.request(method, url, params={**params, name: value})
                body = problem(response, 422)
                assert [error["field"] for error in body["errors"]] == [name], f"{path}?{name}={value}: {body}"
                assert name in body["detail"]
                kinds.add("enum" if value == UNKNOWN else "date" if value in MALFORMED_DATES else name)
                checked += 1
    assert {"enum", "date", "limit", "depth"} <= kinds
    assert checked >= 60


def test_a_foreign_cursor_keeps_its_400_and_bad_json_its_400(owned_ids):
    tenant, _ = owned_ids
    problem(tenant.admin.get("/v1/projects", params={"cursor": "not-a-cursor"}), 400)
    response = tenant.admin.post("/v1/projects", data=b"{oops", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in problem(response, 400)["detail"]


def test_valid_parameters_still_answer(owned_ids):
    tenant, ids = owned_ids
    project = ids["project_id"]
    assert tenant.admin.get("/v1/projects", params={"limit": 1000, "status": "active"}).status_code == 200
    assert tenant.admin.get("/v1/artifacts/top", params={"limit": 50, "type": "dataset"}).status_code == 200
    period = {"from": "2026-03-02T00:00:00+02:00", "to": "2026-03-30T00:00:00Z"}
    series = tenant.admin.get(f"/v1/projects/{project}/metrics", params={"type": "commits", "bucket": "week", **period})
    assert series.status_code == 200, series.text
    assert tenant.admin.get("/v1/audit", params={"from": "2026-01-01T00:00:00Z", "limit": 1}).status_code == 200
