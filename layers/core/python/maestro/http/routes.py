"""RouteKit: how every HTTP route is declared. One decorator gives a route its permission (checked here,
after the authorizer has authenticated the caller), its audit action, error mapping to problem+json, its
request and response models, and its entry in the route registry that the permission-matrix test walks and
the OpenAPI document (maestro.http.openapi) is built from."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, ChaliceViewError
from chalice.app import Request
from pydantic import BaseModel

from maestro.aws_clients import is_transient_failure
from maestro.domain.errors import DependencyUnavailable, DomainError, PermissionDenied, RateLimited, Unauthenticated
from maestro.domain.identity.permissions import PERMISSIONS, PUBLIC, is_allowed
from maestro.domain.identity.principals import Caller
from maestro.http.idempotency import run_idempotently
from maestro.http.problems import problem_response, response_for_domain_error
from maestro.http.requests import client_request_id, parse_body, parse_if_match, parse_query
from maestro.http.schemas import paged_query
from maestro.observability import logger
from maestro.services import request_throttling
from maestro.services.context import RequestMeta, audit_as

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
RETRY_AFTER_SECONDS = 2  # a 503 from a busy or failing dependency


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    permission: str
    audit_action: str | None
    view_name: str
    # The contract (see RouteKit.route): models are classes, never built here (defer_build).
    body: type[BaseModel] | None = None
    response: Any = None
    status: tuple[int, ...] = (200,)
    query: type[BaseModel] | None = None
    paginated: bool = False
    errors: tuple[int, ...] = ()
    summary: str | None = None
    description: str | None = None
    content_type: str = "application/json"
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def params_model(self) -> type[BaseModel] | None:
        """What `scope.params` is parsed into: the `query` model, plus `limit` and `cursor` when paginated."""
        return paged_query(self.query) if self.paginated else self.query


# (method, path) -> RouteSpec, filled as blueprints are imported.
ROUTE_REGISTRY: dict[tuple[str, str], RouteSpec] = {}


@dataclass
class RequestScope:
    """Everything a view needs about the request, already authenticated and authorised, its query string
    parsed (`params`) and its body parsed on first use (`body()`), both into the route's declared models."""

    request: Request
    caller: Caller | None
    meta: RequestMeta
    spec: RouteSpec | None = None
    denied: bool = False  # access.denied is audited where it happens, not again as a failed change
    params: Any = None  # the route's query model, parsed by the kit before the view runs (None without one)
    _body: Any = field(default=None, init=False, repr=False)

    def body(self) -> Any:
        """The request body parsed into the route's declared `body` model, the one its contract shows."""
        model = self.spec.body if self.spec is not None else None
        if model is None:
            raise TypeError("the route declares no body model; declare body=... on the route")
        if self._body is None:
            self._body = parse_body(model, self.request.raw_body)
        return self._body

    def parse_params(self) -> None:
        model = self.spec.params_model if self.spec is not None else None
        if model is not None:
            self.params = parse_query(model, self.request.query_params)

    def header(self, name: str) -> str | None:
        headers = self.request.headers
        return headers.get(name.lower()) if headers else None

    @property
    def expected_version(self) -> int | None:
        """The `If-Match` ETag (a version number) for optimistic concurrency, if given."""
        return parse_if_match(self.header("if-match"))


def request_meta(request: Request) -> RequestMeta:
    context = request.context or {}
    identity = context.get("identity") or {}
    headers: Mapping[str, str] = request.headers or {}
    return RequestMeta(
        source_ip=identity.get("sourceIp"),
        user_agent=headers.get("user-agent"),
        request_id=context.get("requestId") or client_request_id(headers.get("x-request-id")),
    )


def caller_of(request: Request) -> Caller:
    context = (request.context or {}).get("authorizer") or {}
    if not context.get("tenant_id"):
        raise Unauthenticated("credentials required")
    return Caller.from_context(context)


class RouteKit:
    def __init__(self, blueprint: Blueprint, authorizer: Any = None) -> None:
        self.blueprint = blueprint
        self.authorizer = authorizer

    def route(
        self,
        path: str,
        methods: list[str],
        permission: str,
        audit: str | None = None,
        *,
        body: type[BaseModel] | None = None,
        response: Any = None,
        status: int | tuple[int, ...] = 200,
        query: type[BaseModel] | None = None,
        paginated: bool = False,
        errors: tuple[int, ...] = (),
        summary: str | None = None,
        response_content_type: str = "application/json",
        **route_kwargs: Any,
    ) -> Callable:
        """Declare a route. `permission` names one entry of the permission table (or PUBLIC); `audit` names the
        action of a mutating route (e.g. "user.update"); the use case records successes.

        The contract, from which GET /v1/openapi.json is generated (tests/unit/test_openapi.py fails for a
        route without it):
        - `body`: the RequestModel of the body; the view reads it parsed with `scope.body()`.
        - `response`: the pydantic model of the success body (a maestro.http.schemas.ResponseModel).
        - `status`: the success status, or a tuple when the route answers several (e.g. (200, 207)).
        - `query`: a QueryModel (or RequestModel) whose fields are the query parameters; the kit parses the
          query string into it before the view runs (`scope.params`); a malformed or out-of-range parameter
          is 422 with each one named in `errors`.
        - `paginated=True`: a cursor-paged list; adds `limit` and `cursor` (schemas.PageQuery, parsed into
          `scope.params` too) and wraps `response` as
          `{"items": [response], "next_cursor": ...}` (pass a schemas.Page subclass to add page fields).
        - `errors`: statuses beyond the ones the kit adds itself (400, 401/403 when authenticated, 404 with
          path parameters, 409 for changes, 412 for PATCH, 413/415/422 with a body, 422 with query parameters), e.g. (409, 503).
        - `summary`: one line for the document (default: the view's docstring's first line).
        """
        if permission != PUBLIC and permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r} for {path}")
        if permission != PUBLIC and self.authorizer is None:
            raise ValueError(f"{path} needs an authorizer")

        statuses = (status,) if isinstance(status, int) else tuple(status)

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            doc = (view.__doc__ or "").strip()
            specs = {}
            for method in methods:
                ROUTE_REGISTRY[(method, path)] = specs[method] = RouteSpec(
                    path,
                    method,
                    permission,
                    audit,
                    view.__name__,
                    body=body,
                    response=response,
                    status=statuses,
                    query=query,
                    paginated=paginated,
                    errors=tuple(errors),
                    summary=summary or (doc.splitlines()[0] if doc else None),
                    description=doc or None,
                    content_type=response_content_type,
                    tags=(self.blueprint._import_name.rsplit(".", 1)[-1],),
                )

            @functools.wraps(view)
            def handle(**params: Any) -> Any:
                request = self.blueprint.current_request
                scope = RequestScope(request, None, request_meta(request), spec=specs.get(request.method))
                idempotency_key = request.headers.get("idempotency-key") if request.headers else None
                if request.method == "POST" and idempotency_key is not None and permission != PUBLIC:
                    response = self._run_idempotently(view, scope, permission, params, idempotency_key, path)
                else:
                    response = self._run(view, scope, permission, params, path)
                # Use cases audit their own successes (they know the before/after); a mutating request that
                # failed is audited here, so every mutating request leaves exactly one event.
                status = getattr(response, "status_code", 200)
                if scope.caller is not None and request.method in MUTATING and not scope.denied and status >= 400:
                    audit_as(
                        scope.caller,
                        audit or f"{request.method.lower()} {path}",
                        "route",
                        _first_id(params),
                        scope.meta,
                        outcome="failure",
                    )
                return response

            kwargs = dict(route_kwargs)
            if permission != PUBLIC:
                kwargs["authorizer"] = self.authorizer
            self.blueprint.route(path, methods=methods, **kwargs)(handle)
            return handle

        return decorate

    # One method a route, as a view declares it: `@routes.get("/v1/things", permission=..., response=...)`.
    def get(self, path: str, **contract: Any) -> Callable:
        return self.route(path, ["GET"], **contract)

    def post(self, path: str, **contract: Any) -> Callable:
        return self.route(path, ["POST"], **contract)

    def put(self, path: str, **contract: Any) -> Callable:
        return self.route(path, ["PUT"], **contract)

    def patch(self, path: str, **contract: Any) -> Callable:
        return self.route(path, ["PATCH"], **contract)

    def delete(self, path: str, **contract: Any) -> Callable:
        return self.route(path, ["DELETE"], **contract)

    def _run_idempotently(
        self, view: Callable[..., Any], scope: RequestScope, permission: str, params: dict, key: str, path: str
    ) -> Any:
        try:
            caller = caller_of(scope.request)
        except DomainError:
            return self._run(view, scope, permission, params, path)  # answers 401 the usual way
        # The key is the caller's tenant's, for this route and these path parameters only.
        scope_id = f"{caller.tenant_id}:POST:{path}:{sorted(params.items())}"
        try:
            return run_idempotently(
                key,
                scope_id,
                scope.request.raw_body,
                lambda: self._run(view, scope, permission, params, path),
                lambda_context=getattr(self.blueprint, "lambda_context", None),
            )
        except DomainError as error:
            return response_for_domain_error(error, instance=path)

    @staticmethod
    def _run(view: Callable[..., Any], scope: RequestScope, permission: str, params: dict, route_path: str) -> Any:
        path = (scope.request.context or {}).get("resourcePath")
        try:
            if permission != PUBLIC:
                scope.caller = caller_of(scope.request)
                if not is_allowed(scope.caller.role, permission):
                    scope.denied = True
                    audit_as(
                        scope.caller,
                        "access.denied",
                        "route",
                        f"{scope.request.method} {path}",
                        scope.meta,
                        outcome="denied",
                    )
                    raise PermissionDenied(
                        f"role {scope.caller.role} may not {permission.replace('.', ' ')}", permission=permission
                    )
                try:
                    request_throttling.charge(scope.caller, scope.request.method, route_path)
                except RateLimited:
                    scope.denied = True  # not audited per refusal: a flood must not become a flood of writes
                    raise
            scope.parse_params()  # after authorisation: a caller without access learns nothing about parameters
            return view(scope, **params)
        except DomainError as error:
            return response_for_domain_error(error, instance=path)
        except ChaliceViewError as error:
            return problem_response(error.STATUS_CODE, detail=str(error).split(": ", 1)[-1])
        except Exception as error:  # a bug, not a client mistake: log it whole, answer without internals
            if is_transient_failure(error):
                # DynamoDB/S3 throttled, failed or timed out beyond the SDK's retries: the client may retry.
                logger.warning("dependency unavailable in %s", view.__name__, exc_info=True)
                return response_for_domain_error(
                    DependencyUnavailable("a storage service is busy or unavailable; retry shortly"),
                    instance=path,
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                )
            logger.exception("unhandled error in %s", view.__name__)
            return problem_response(500, detail="An internal error occurred; it has been logged.")


def _first_id(params: dict) -> str | None:
    for name in ("id", "user_id", "key_id", "project_id", "artifact_id"):
        if params.get(name):
            return params[name]
    return next(iter(params.values()), None) if params else None
