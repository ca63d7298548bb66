"""/v1/projects: projects, their outcomes and their teams."""

from datetime import date, datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field, SkipValidation, field_validator

from functions.authorizer import maestro_authorizer
from maestro.domain.project_input import MAX_IMPORT_ROWS, ImportRow, MemberIn, OutcomeIn, ProjectIn, owner_slash_repo
from maestro.domain.projects import PROJECT_SORTS, ExperienceLevel, MemberRole, ProblemClass, ProjectStatus
from maestro.http.api import etag_response, json_response
from maestro.http.requests import Name, Omittable, RequestModel, refuse_larger_batches
from maestro.http.routes import RouteKit
from maestro.http.schemas import DeletedView, Page, QueryModel, ResponseModel, as_page
from maestro.services import projects

projects_api = Blueprint(__name__)
routes = RouteKit(projects_api, maestro_authorizer)


class ProjectPatch(RequestModel):
    """Only the fields given change; null clears start_date and mlflow_experiment and is refused elsewhere."""

    name: Name = Omittable(min_length=1, max_length=200)
    description: str = Omittable(max_length=10_000)
    complexity_score: float = Omittable(ge=1, le=10)
    team_size: int = Omittable(ge=1, le=500)
    start_date: date | None = None
    repositories: list[str] = Omittable(max_length=50)
    mlflow_experiment: str | None = Field(default=None, max_length=500)
    features: dict[str, float] = Omittable(max_length=200)

    _repositories = field_validator("repositories")(classmethod(lambda cls, v: owner_slash_repo(v)))


class SuccessWeightsIn(RequestModel):
    weights: dict[str, float]


class SuccessView(ResponseModel):
    score: float
    components: dict[str, float]
    weights: dict[str, float]
    basis: Literal["tenant_history", "reference_scales"]
    history_size: int


class OutcomeView(ResponseModel):
    model_performance: float
    business_impact_usd: float
    duration_days: float
    compute_cost_usd: float
    completed_at: datetime
    success: SuccessView


class ProjectView(ResponseModel):
    id: str
    name: str
    description: str
    problem_class: ProblemClass
    complexity_score: float
    team_size: int
    status: ProjectStatus
    start_date: date | None
    repositories: list[str]
    mlflow_experiment: str | None
    features: dict[str, float]
    outcome: OutcomeView | None
    success_score: float | None
    mlflow: dict[str, Any] | None = Field(description="the last MLflow sync's experiment summary")
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectPage(Page[ProjectView]):
    """One page of projects; a search (`q`) or a `sort` also says how many projects match in all."""

    total: int | None = Field(default=None, description="projects matching the search or sort (with `q`/`sort` only)")


class ProjectQuery(QueryModel):
    status: ProjectStatus | None = None
    problem_class: ProblemClass | None = None
    q: str | None = Field(default=None, max_length=200, description="words that must all be in name or description")
    sort: Literal[PROJECT_SORTS] | None = Field(  # type: ignore[valid-type]
        default=None, description="a field, `-` first for descending; default newest first"
    )


class MemberView(ResponseModel):
    id: str
    user_id: str | None
    display_name: str
    role: MemberRole
    experience_level: ExperienceLevel
    contribution_hours: float
    created_at: datetime


class SuccessWeightsView(ResponseModel):
    weights: dict[str, float] = Field(description="the tenant's weights, missing ones defaulted, summing to 1")


class UsageView(ResponseModel):
    id: str
    artifact_id: str
    project_id: str
    version: str
    context: str | None
    recorded_by: str
    recorded_at: datetime


class SimilarProjectView(ResponseModel):
    id: str
    name: str
    problem_class: ProblemClass
    status: ProjectStatus
    success_score: float | None
    outcome: OutcomeView | None
    score: float
    description_similarity: float
    structure_similarity: float
    artifacts_used: list[str]


class SimilarQuery(QueryModel):
    limit: int = Field(default=10, ge=1, le=1000)


def _stored(model: BaseModel, exclude_unset: bool = False) -> dict:
    data = model.model_dump(mode="json", exclude_unset=exclude_unset)
    return {k: (v.value if hasattr(v, "value") else v) for k, v in data.items()}


@routes.post(
    "/v1/projects",
    permission="projects.write",
    audit="project.create",
    body=ProjectIn,
    response=ProjectView,
    status=201,
    errors=(403,),
)
def create_project(scope):
    return etag_response(projects.create_project(scope.caller, _stored(scope.body()), scope.meta), status=201)


@routes.get("/v1/projects", permission="projects.read", query=ProjectQuery, response=ProjectPage, paginated=True)
def list_projects(scope):
    params = scope.params
    status = params.status.value if params.status else None
    problem_class = params.problem_class.value if params.problem_class else None
    page = projects.list_projects(
        scope.caller, status, problem_class, params.limit, params.cursor, query=params.q or None, sort=params.sort
    )
    return json_response(page.to_body())


@routes.get("/v1/projects/{project_id}", permission="projects.read", response=ProjectView)
def get_project(scope, project_id):
    return etag_response(projects.get_project(scope.caller, project_id))


@routes.patch(
    "/v1/projects/{project_id}",
    permission="projects.write",
    audit="project.update",
    body=ProjectPatch,
    response=ProjectView,
)
def update_project(scope, project_id):
    changes = _stored(scope.body(), exclude_unset=True)
    return etag_response(projects.update_project(scope.caller, project_id, changes, scope.expected_version, scope.meta))


@routes.delete("/v1/projects/{project_id}", permission="projects.delete", audit="project.delete", response=DeletedView)
def delete_project(scope, project_id):
    projects.delete_project(scope.caller, project_id, scope.meta)
    return json_response({"id": project_id, "deleted": True})


@routes.put(
    "/v1/projects/{project_id}/outcome",
    permission="projects.write",
    audit="project.outcome",
    body=OutcomeIn,
    response=ProjectView,
)
def record_outcome(scope, project_id):
    outcome = _stored(scope.body())
    return etag_response(projects.record_outcome(scope.caller, project_id, outcome, scope.meta))


@routes.post(
    "/v1/projects/{project_id}/members",
    permission="projects.write",
    audit="project.member_add",
    body=MemberIn,
    response=MemberView,
    status=201,
)
def add_member(scope, project_id):
    return json_response(projects.add_member(scope.caller, project_id, _stored(scope.body()), scope.meta), status=201)


@routes.get("/v1/projects/{project_id}/members", permission="projects.read", response=MemberView, paginated=True)
def list_members(scope, project_id):
    return json_response(
        projects.list_members(scope.caller, project_id, scope.params.limit, scope.params.cursor).to_body()
    )


@routes.delete(
    "/v1/projects/{project_id}/members/{member_id}",
    permission="projects.write",
    audit="project.member_remove",
    response=DeletedView,
)
def remove_member(scope, project_id, member_id):
    projects.remove_member(scope.caller, project_id, member_id, scope.meta)
    return json_response({"id": member_id, "deleted": True})


@routes.put(
    "/v1/tenant/success-weights",
    permission="tenant.manage",
    audit="tenant.success_weights",
    body=SuccessWeightsIn,
    response=SuccessWeightsView,
)
def set_success_weights(scope):
    return json_response(projects.set_success_weights(scope.caller, scope.body().weights, scope.meta))


@routes.get("/v1/projects/{project_id}/artifacts", permission="projects.read", response=UsageView, paginated=True)
def project_artifacts(scope, project_id):
    from maestro.services import usage

    return json_response(
        usage.project_artifacts(scope.caller, project_id, scope.params.limit, scope.params.cursor).to_body()
    )


@routes.get(
    "/v1/projects/{project_id}/similar",
    permission="projects.read",
    query=SimilarQuery,
    response=as_page(SimilarProjectView),
    errors=(503,),
)
def similar_projects(scope, project_id):
    from maestro.services import matching

    return json_response(matching.similar_projects(scope.caller, project_id, scope.params.limit))


# ---------------------------------------------------------------- history import
class ImportBatchIn(RequestModel):
    """At least one project and at most MAX_IMPORT_ROWS (more is 413: split it, or upload a file)."""

    # Each row is judged on its own by the import (207 with its index), so one bad row never blocks the others.
    projects: list[SkipValidation[ImportRow]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)

    _at_most = refuse_larger_batches("projects", MAX_IMPORT_ROWS)


class ImportQuery(QueryModel):
    dry_run: bool = Field(default=False, description="validate and resolve every row, write nothing")


class RejectedRow(ResponseModel):
    index: int
    external_id: str | None
    reason: str
    fields: list[str] | None = None


class ImportedRow(ResponseModel):
    index: int
    external_id: str
    id: str
    status: Literal["created", "updated", "unchanged"]


class ImportResultView(ResponseModel):
    dry_run: bool
    total: int
    created: int
    updated: int
    unchanged: int
    rejected_count: int
    rejected: list[RejectedRow]
    projects: list[ImportedRow]


class ImportUploadIn(RequestModel):
    file_name: str = Field(
        min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(csv|jsonl|ndjson|CSV|JSONL)$"
    )
    dry_run: bool = False


class ImportUploadTarget(ResponseModel):
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_in: int


class ImportUploadView(ResponseModel):
    id: str
    file_name: str
    format: Literal["csv", "jsonl"]
    state: Literal["awaiting_upload", "processing", "succeeded", "failed"]
    dry_run: bool
    created_at: datetime
    rows: int | None = None
    counts: dict[str, int] | None = None
    first_errors: list[RejectedRow] | None = None
    reason: str | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    upload: ImportUploadTarget | None = None


@routes.post(
    "/v1/projects/import",
    permission="projects.write",
    audit="project.import",
    body=ImportBatchIn,
    query=ImportQuery,
    response=ImportResultView,
    status=(200, 207),
    errors=(413, 422),
)
def import_projects(scope):
    """Past and running projects in one batch (up to 500): 200 when every row was taken, 207 with each refused
    row's index, external_id and reason otherwise. Re-importing a row changes nothing (counted unchanged)."""
    from maestro.services.project_import import import_projects as run_import

    result = run_import(scope.caller, scope.body().projects, scope.meta, dry_run=scope.params.dry_run)
    return json_response(result.to_body(), status=207 if result.rejected else 200)


@routes.post(
    "/v1/projects/import-uploads",
    permission="projects.write",
    audit="project.import_upload",
    body=ImportUploadIn,
    response=ImportUploadView,
    status=201,
)
def create_import_upload(scope):
    """A presigned PUT for a CSV or JSONL file of projects; it is imported when it lands (poll its id)."""
    from maestro.services.project_import import create_import_upload as create

    body = scope.body()
    return json_response(create(scope.caller, body.file_name, scope.meta, dry_run=body.dry_run), status=201)


@routes.get("/v1/projects/import-uploads/{import_upload_id}", permission="projects.read", response=ImportUploadView)
def get_import_upload(scope, import_upload_id):
    """An import upload's state, its counts so far and its first refused rows."""
    from maestro.services.project_import import import_upload_status

    return json_response(import_upload_status(scope.caller, import_upload_id))
