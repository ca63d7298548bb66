"""/v1/artifacts: the library of reusable ML artifacts — entries, search, the top list."""

from datetime import datetime
from functools import partial
from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from functions.authorizer import maestro_authorizer
from functions.projects import UsageView
from maestro.domain.artifacts import ArtifactType, SearchFilters, SearchSort
from maestro.domain.errors import ValidationFailed
from maestro.http.api import etag_response, json_response
from maestro.http.requests import Name, Omittable, RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import DeletedView, OpenResponseModel, Page, QueryModel, ResponseModel, as_page
from maestro.services import artifacts

artifacts_api = Blueprint(__name__)
routes = RouteKit(artifacts_api, maestro_authorizer)

Tag = Field(min_length=1, max_length=64)


def _clean_tags(tags: list[str]) -> list[str]:
    seen, cleaned = set(), []
    for tag in tags:
        tag = tag.strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            cleaned.append(tag)
    return cleaned


class ArtifactIn(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    type: ArtifactType
    description: str = Field(default="", max_length=20_000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    metadata: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = Field(default=None, max_length=200)

    _tags = field_validator("tags")(classmethod(lambda cls, v: _clean_tags(v)))


class Deprecation(RequestModel):
    reason: str = Field(min_length=1, max_length=2_000)
    replacement_id: str | None = Field(default=None, min_length=1, max_length=100)


class ArtifactPatch(RequestModel):
    """Only the fields given change; `deprecated: null` undeprecates, null is refused elsewhere."""

    description: str = Omittable(max_length=20_000)
    tags: list[str] = Omittable(max_length=50)
    metadata: dict[str, Any] = Omittable()
    deprecated: Deprecation | None = None

    _tags = field_validator("tags")(classmethod(lambda cls, v: v if v is None else _clean_tags(v)))


class SearchIn(RequestModel):
    query: str | None = Field(default=None, max_length=1_000)
    # Default: hybrid when there is a query (filters alone need no ranking).
    mode: Literal["keyword", "semantic", "hybrid"] | None = None
    type: ArtifactType | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    min_impact_score: float | None = Field(default=None, ge=0, le=100)
    include_deprecated: bool = False
    sort: SearchSort | None = None
    limit: int = Field(default=50, ge=1, le=1000)
    cursor: str | None = None


class ImpactView(OpenResponseModel):
    """How the impact score was made (the impact job adds interval, effect and counts)."""

    score: float | None
    method: str
    explanation: str


class DeprecationView(ResponseModel):
    reason: str
    replacement_id: str | None
    at: datetime
    by: str


class ArtifactView(ResponseModel):
    id: str
    name: str
    type: ArtifactType
    description: str
    tags: list[str]
    metadata: dict[str, Any]
    owner: str | None
    usage_count: int
    version_count: int
    latest_version: str | None
    impact_score: float | None
    impact: ImpactView | None
    deprecated: DeprecationView | None
    created_at: datetime
    updated_at: datetime
    revision: int = Field(description="the ETag; send it as If-Match to change the artifact")


SearchMode = Literal["keyword", "semantic", "hybrid", "filter"]


class ArtifactHit(ArtifactView):
    score: float | None = Field(description="the mode's relevance; null when only filters were given")
    mode: SearchMode
    found_by: list[Literal["keyword", "semantic"]]
    name_match: bool = Field(
        default=False, description="the query is this artifact's name: it is listed first whatever its score"
    )


class ArtifactSearchPage(Page[ArtifactHit]):
    total: int
    mode: SearchMode
    degraded: str | None = Field(
        default=None,
        description="why the answer is not the full semantic ranking: hybrid fell back to keyword (no model), or "
        "some artifacts are not embedded yet (see not_embedded)",
    )
    not_embedded: int | None = Field(
        default=None, ge=1, description="semantic and hybrid: how many admitted artifacts have no vector yet"
    )


class TopQuery(QueryModel):
    type: ArtifactType | None = None
    limit: int = Field(default=artifacts.DEFAULT_TOP, ge=1, le=artifacts.MAX_TOP)


class RecordedUsageView(UsageView):
    created: bool = Field(description="false when the project already used this version (200)")


class ProjectRef(ResponseModel):
    id: str
    name: str
    status: str
    success_score: float | None


class UsagePeriod(ResponseModel):
    period: str = Field(description="YYYY-MM")
    usages: int


class ArtifactAnalyticsView(ResponseModel):
    id: str
    usage_count: int
    project_count: int
    projects: list[ProjectRef]
    distinct_teams: int
    distinct_people: int
    impact: ImpactView
    usage_over_time: list[UsagePeriod]


class QueuedView(ResponseModel):
    id: str
    status: Literal["queued"]


class MatchedPart(ResponseModel):
    part: Literal["text", "user_stories", "requirements", "data_entities", "endpoints"]
    text: str
    similarity: float


class MatchHit(ArtifactView):
    score: float
    suggestion: Literal["reuse_as_is", "adapt", "take_as_reference", "build_new"]
    matched: list[MatchedPart]


class MatchPage(Page[MatchHit]):
    parts: int = Field(description="how many text and spec items were matched")


_with_etag = partial(etag_response, etag_field="revision")


def _search(scope, query: SearchIn):
    sort = query.sort.value if query.sort else ("relevance" if query.query else "recent")
    if sort == "relevance" and not query.query:
        raise ValidationFailed(
            "sort=relevance needs a query",
            errors=[
                {
                    "field": "sort",
                    "message": "relevance ranks by the query; give one or sort otherwise",
                    "type": "value",
                }
            ],
        )
    filters = SearchFilters(
        query=query.query,
        type=query.type.value if query.type else None,
        tags=tuple(query.tags),
        min_impact_score=query.min_impact_score,
        include_deprecated=query.include_deprecated,
    )
    mode = query.mode.value if hasattr(query.mode, "value") else (query.mode or "hybrid")
    return json_response(artifacts.search(scope.caller, filters, sort, query.limit, query.cursor, mode).to_body())


@routes.post(
    "/v1/artifacts",
    permission="artifacts.write",
    audit="artifact.create",
    body=ArtifactIn,
    response=ArtifactView,
    status=201,
)
def create_artifact(scope):
    fields = scope.body().model_dump(mode="json")
    return _with_etag(artifacts.create_artifact(scope.caller, fields, scope.meta), status=201)


@routes.get(
    "/v1/artifacts",
    permission="artifacts.read",
    query=SearchIn,
    response=ArtifactSearchPage,
    paginated=True,
    errors=(503,),
)
def list_artifacts(scope):
    """Search the library with query parameters (the filters of POST /v1/artifacts/search)."""
    # `tags` repeats (?tags=a&tags=b) or comes comma-separated (?tags=a,b): maestro.http.requests.query_input
    return _search(scope, scope.params)


@routes.post(
    "/v1/artifacts/search", permission="artifacts.read", body=SearchIn, response=ArtifactSearchPage, errors=(503,)
)
def search_artifacts(scope):
    """Keyword, semantic or hybrid search with filters; paged by the body's limit and cursor."""
    return _search(scope, scope.body())


@routes.get("/v1/artifacts/top", permission="artifacts.read", query=TopQuery, response=as_page(ArtifactView))
def top_artifacts(scope):
    """The artifacts with the highest impact scores."""
    artifact_type = scope.params.type.value if scope.params.type else None
    return json_response({"items": artifacts.top(scope.caller, artifact_type, scope.params.limit), "next_cursor": None})


@routes.get("/v1/artifacts/{artifact_id}", permission="artifacts.read", response=ArtifactView)
def get_artifact(scope, artifact_id):
    return _with_etag(artifacts.get_artifact(scope.caller, artifact_id))


@routes.patch(
    "/v1/artifacts/{artifact_id}",
    permission="artifacts.write",
    audit="artifact.update",
    body=ArtifactPatch,
    response=ArtifactView,
)
def update_artifact(scope, artifact_id):
    changes = scope.body().model_dump(mode="json", exclude_unset=True)
    return _with_etag(artifacts.update_artifact(scope.caller, artifact_id, changes, scope.expected_version, scope.meta))


@routes.delete(
    "/v1/artifacts/{artifact_id}", permission="artifacts.delete", audit="artifact.delete", response=DeletedView
)
def delete_artifact(scope, artifact_id):
    artifacts.delete_artifact(scope.caller, artifact_id, scope.meta)
    return json_response({"id": artifact_id, "deleted": True})


class UsageIn(RequestModel):
    project_id: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=200)
    context: str | None = Field(default=None, max_length=2_000)


@routes.post(
    "/v1/artifacts/{artifact_id}/usages",
    permission="artifacts.write",
    audit="artifact.usage",
    body=UsageIn,
    response=RecordedUsageView,
    status=(200, 201),
)
def record_usage(scope, artifact_id):
    """Record that a project used a version (once per project, artifact and version: 201, then 200)."""
    from maestro.services import usage

    artifacts.get_artifact_record(scope.caller, artifact_id)  # 404 for another tenant's id, whatever the body
    body = scope.body()
    recorded, created = usage.record_usage(
        scope.caller, artifact_id, body.project_id, body.version, body.context, scope.meta
    )
    return json_response({**recorded, "created": created}, status=201 if created else 200)


@routes.get("/v1/artifacts/{artifact_id}/analytics", permission="artifacts.read", response=ArtifactAnalyticsView)
def artifact_analytics(scope, artifact_id):
    from maestro.services import usage

    return json_response(usage.analytics(scope.caller, artifact_id))


@routes.post(
    "/v1/artifacts/embeddings/backfill",
    permission="tenant.manage",
    audit="artifact.embedding_backfill",
    response=QueuedView,
    status=202,
)
def backfill_embeddings(scope):
    """Re-embed every artifact of the tenant (asynchronously; unchanged texts are skipped)."""
    from maestro.services.embeddings import request_backfill

    return json_response(request_backfill(scope.caller, scope.meta), status=202)


class SpecIn(RequestModel):
    user_stories: list[str] = Field(default_factory=list, max_length=100)
    requirements: list[str] = Field(default_factory=list, max_length=100)
    data_entities: list[str] = Field(default_factory=list, max_length=100)
    endpoints: list[str] = Field(default_factory=list, max_length=100)


class MatchIn(RequestModel):
    text: str | None = Field(default=None, max_length=10_000)
    spec: SpecIn = Field(default_factory=SpecIn)
    types: list[ArtifactType] | None = None
    limit: int = Field(default=10, ge=1, le=100)


@routes.post("/v1/match", permission="artifacts.read", body=MatchIn, response=MatchPage, errors=(503,))
def match_work(scope):
    """Artifacts that fit described work, with the matched parts and a reuse suggestion (docs in domain/matching)."""
    from maestro.services import matching

    body = scope.body()
    types = [t.value for t in body.types] if body.types else None
    return json_response(matching.match(scope.caller, body.text, body.spec.model_dump(), types, body.limit))
