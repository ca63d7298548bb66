"""The OpenAPI 3.1 document of the API, generated from the route registry: the same pydantic models the views
parse bodies with and describe their answers with (RouteKit.route's `body`, `response`, `query`), so the
document cannot drift from the code. Built on first request (GET /v1/openapi.json), never at import."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from maestro.domain.identity.permissions import PUBLIC
from maestro.http.problems import PROBLEM_CONTENT_TYPE
from maestro.http.routes import RouteSpec
from maestro.http.schemas import Page, PageQuery, ProblemDetails, as_page

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from /v1/auth/login (or an API key, `Bearer mml_...`).",
    },
    "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "An API key from POST /v1/api-keys.",
    },
}
AUTHENTICATED: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
ERROR_DESCRIPTIONS = {
    400: "Malformed request (bad JSON or a cursor this API did not issue)",
    401: "Missing, invalid or expired credentials",
    403: "The caller's role lacks the route's permission, or a quota is reached",
    404: "Not found (also another tenant's id)",
    409: "Conflicts with the current state",
    412: "If-Match names an outdated version",
    413: "Request body too large",
    415: "Unsupported media type (send application/json)",
    422: "Invalid fields or query parameters (each named in `errors`)",
    429: "Too many requests (see Retry-After)",
    503: "A dependency is unavailable",
}


def response_model(spec: RouteSpec) -> Any:
    """The success body's model, wrapped as a page for a paginated route."""
    if spec.response is None:
        return None
    if spec.paginated and not (isinstance(spec.response, type) and issubclass(spec.response, Page)):
        return as_page(spec.response)
    return spec.response


def query_models(spec: RouteSpec) -> list[type[BaseModel]]:
    """The models the kit parses the query string with (RouteSpec.params_model): the route's `query` and,
    for a paginated route, PageQuery's `limit` and `cursor`."""
    models = [spec.query] if spec.query is not None else []
    return [*models, PageQuery] if spec.paginated else models


def error_statuses(spec: RouteSpec) -> list[int]:
    statuses = {400, *spec.errors}
    if spec.permission != PUBLIC:
        statuses |= {401, 403}
        if spec.method in MUTATING:
            statuses.add(409)
    if PATH_PARAMETER.search(spec.path):
        statuses.add(404)
    if spec.method == "PATCH":
        statuses.add(412)
    if spec.body is not None:
        statuses |= {413, 415, 422}
    if query_models(spec):
        statuses.add(422)
    return sorted(statuses)


def build_document(specs: Iterable[RouteSpec], *, title: str = "Maestro ML API", version: str = "1") -> dict:
    specs = sorted(specs, key=lambda s: (s.path, s.method))
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ProblemDetails, "serialization"): None}
    responses = {}
    for spec in specs:
        if spec.body is not None:
            wanted[(spec.body, "validation")] = None
        for query in query_models(spec):
            wanted[(query, "validation")] = None
        model = response_model(spec)
        responses[(spec.method, spec.path)] = model
        if isinstance(model, type) and issubclass(model, BaseModel):
            wanted[(model, "serialization")] = None
    refs, definitions = models_json_schema(list(wanted), ref_template=REF_TEMPLATE)
    schemas = definitions.get("$defs", {})

    def schema_of(model: Any, mode: JsonSchemaMode) -> dict:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return refs[(model, mode)]
        return model  # a plain JSON schema dict

    def component(ref: dict) -> dict:
        return schemas[ref["$ref"].rsplit("/", 1)[-1]]

    paths: dict[str, dict] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(
            spec, responses[(spec.method, spec.path)], schema_of, component
        )
    problem_ref = refs[(ProblemDetails, "serialization")]
    used_errors = sorted({status for spec in specs for status in error_statuses(spec)})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Every 4xx/5xx answer is RFC 9457 application/problem+json. Lists page with "
            "`limit` and an opaque `cursor`; their bodies are `{items, next_cursor}`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": SECURITY_SCHEMES,
            "responses": {
                f"Problem{status}": {
                    "description": ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": problem_ref}},
                }
                for status in used_errors
            },
        },
    }


def _operation(spec: RouteSpec, model: Any, schema_of, component) -> dict:
    operation: dict[str, Any] = {"operationId": spec.view_name, "tags": list(spec.tags)}
    if spec.summary:
        operation["summary"] = spec.summary
    if spec.description and spec.description != spec.summary:
        operation["description"] = spec.description
    permission = "none (public)" if spec.permission == PUBLIC else f"`{spec.permission}`"
    operation["description"] = (operation.get("description", "") + f"\n\nPermission: {permission}.").strip()
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in PATH_PARAMETER.findall(spec.path)
    ]
    names = set()
    for query in query_models(spec):
        definition = component(schema_of(query, "validation"))
        required = set(definition.get("required", []))
        for name, schema in definition.get("properties", {}).items():
            if name in names:  # a query model that names limit or cursor itself
                continue
            parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
            if schema.get("description"):
                parameter["description"] = schema["description"]
            if _is_array(schema):
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
            names.add(name)
    if spec.method == "PATCH":
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "the ETag of the version you read; 412 if it changed since",
                "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]+"?$'},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_of(spec.body, "validation")}},
        }
    responses: dict[str, Any] = {}
    for status in spec.status:
        answer: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if model is not None:
            answer["content"] = {spec.content_type: {"schema": schema_of(model, "serialization")}}
        responses[str(status)] = answer
    for status in error_statuses(spec):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    operation["responses"] = responses
    operation["security"] = [] if spec.permission == PUBLIC else AUTHENTICATED
    return operation


def _is_array(schema: dict) -> bool:
    if schema.get("type") == "array":
        return True
    return any(option.get("type") == "array" for option in schema.get("anyOf", []))


_DOCUMENTS: dict[frozenset, dict] = {}


def served_document(served: Iterable[tuple[str, str]]) -> dict:
    """The document of the routes an app serves (built once per execution environment and set of routes)."""
    keys = frozenset(served)
    if keys not in _DOCUMENTS:
        from maestro import __version__
        from maestro.http.routes import ROUTE_REGISTRY

        _DOCUMENTS[keys] = build_document(
            [spec for key, spec in ROUTE_REGISTRY.items() if key in keys], version=__version__
        )
    return _DOCUMENTS[keys]
