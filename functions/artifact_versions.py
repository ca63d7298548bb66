"""/v1/artifacts/{id}/versions and /lineage: immutable versions uploaded and downloaded through presigned S3
URLs, and the S3 object-created events that verify them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from functions.authorizer import maestro_authorizer
from maestro.domain import artifact_versions as rules
from maestro.http.api import json_response
from maestro.http.requests import RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import QueryModel, ResponseModel
from maestro.observability import logger, metrics
from maestro.services import artifact_versions
from maestro.services.artifacts import get_artifact_record
from maestro.services.context import RequestMeta
from maestro.settings import get_settings

artifact_versions_api = Blueprint(__name__)
routes = RouteKit(artifact_versions_api, maestro_authorizer)


def _rule(problem: str | None, value):
    if problem:
        raise ValueError(problem)
    return value


class ParentIn(RequestModel):
    artifact_id: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=128)


class VersionIn(RequestModel):
    version: str
    description: str = Field(default="", max_length=20_000)
    derived_from: list[ParentIn] = Field(default_factory=list)
    # The 5 GiB ceiling answers 422 like any other field rule, not 413: the request itself is small, and
    # 413 would tell the client to shrink a body it cannot shrink.
    size_bytes: int
    sha256: str
    content_type: str

    _version = field_validator("version")(classmethod(lambda cls, v: _rule(rules.version_problem(v), v)))
    _size = field_validator("size_bytes")(classmethod(lambda cls, v: _rule(rules.size_problem(v), v)))
    _sha256 = field_validator("sha256")(classmethod(lambda cls, v: _rule(rules.sha256_problem(v), v.lower())))
    _type = field_validator("content_type")(classmethod(lambda cls, v: _rule(rules.content_type_problem(v), v)))


class ParentRef(ResponseModel):
    artifact_id: str
    version: str


class TensorView(ResponseModel):
    name: str
    type: str = Field(description="element type: float32, float64, int64, string, bool, ... (or an ONNX type)")
    shape: list[int | None] | None = Field(description="each dimension, null where any size goes (the batch)")


class SignatureView(ResponseModel):
    inputs: list[TensorView]
    outputs: list[TensorView]
    feature_names: list[str] | None = Field(description="column names of a single [N, F] input, when the graph says")


class VersionView(ResponseModel):
    id: str
    version: str
    artifact_id: str
    status: Literal["pending", "ready", "rejected"]
    status_reason: str | None
    description: str
    derived_from: list[ParentRef]
    size_bytes: int
    sha256: str
    content_type: str
    integrity: Literal["unverified", "intact", "changed"]
    created_by: str
    created_at: datetime
    verified_at: datetime | None
    signature: SignatureView | None = Field(
        description="for a servable model version (an ONNX graph): its inputs and outputs, read when it became ready"
    )
    serving_problem: str | None = Field(description="why a model version's graph cannot be served, if it cannot")


class PresignedUpload(ResponseModel):
    url: str
    method: Literal["PUT"]
    expires_at: datetime
    headers: dict[str, str] = Field(description="send exactly these headers with the PUT")


class CreatedVersionView(VersionView):
    upload: PresignedUpload


class DownloadView(ResponseModel):
    artifact_id: str
    version: str
    url: str
    method: Literal["GET"]
    expires_at: datetime
    size_bytes: int
    sha256: str
    content_type: str
    integrity: Literal["unverified", "intact", "changed"]


class LineageNode(ResponseModel):
    artifact_id: str
    version: str
    name: str | None = Field(description="null once the artifact is deleted")
    type: str | None
    depth: int


class LineageView(ResponseModel):
    id: str
    depth: int
    upstream: list[LineageNode]
    downstream: list[LineageNode]
    truncated: bool


class LineageQuery(QueryModel):
    depth: int = Field(default=rules.DEFAULT_LINEAGE_DEPTH, ge=1, le=rules.MAX_LINEAGE_DEPTH)


def _with_location(view: dict, status: int):
    return json_response(
        view, status=status, headers={"Location": f"/v1/artifacts/{view['artifact_id']}/versions/{view['version']}"}
    )


@routes.post(
    "/v1/artifacts/{artifact_id}/versions",
    permission="artifacts.write",
    audit="artifact.version_create",
    body=VersionIn,
    response=CreatedVersionView,
    status=201,
)
def create_version(scope, artifact_id):
    # An artifact the caller cannot see is 404 whatever the body says (and a malformed body reveals nothing).
    get_artifact_record(scope.caller, artifact_id)
    fields = scope.body().model_dump(mode="json")
    return _with_location(artifact_versions.create_version(scope.caller, artifact_id, fields, scope.meta), 201)


@routes.get("/v1/artifacts/{artifact_id}/versions", permission="artifacts.read", response=VersionView, paginated=True)
def list_versions(scope, artifact_id):
    return json_response(
        artifact_versions.list_versions(scope.caller, artifact_id, scope.params.limit, scope.params.cursor).to_body()
    )


@routes.get("/v1/artifacts/{artifact_id}/versions/{version}", permission="artifacts.read", response=VersionView)
def get_version(scope, artifact_id, version):
    return json_response(artifact_versions.get_version(scope.caller, artifact_id, version))


@routes.post(
    "/v1/artifacts/{artifact_id}/versions/{version}/complete",
    permission="artifacts.write",
    audit="artifact.version_complete",
    response=VersionView,
    status=(200, 202),
)
def complete_upload(scope, artifact_id, version):
    view, decided = artifact_versions.complete_upload(scope.caller, artifact_id, version, scope.meta)
    # 202: the object is too large to hash inside an API request; the object-created event decides it.
    return _with_location(view, 200 if decided else 202)


@routes.get(
    "/v1/artifacts/{artifact_id}/versions/{version}/download",
    permission="artifacts.read",
    response=DownloadView,
    errors=(409,),
)
def download_version(scope, artifact_id, version):
    return json_response(artifact_versions.download_url(scope.caller, artifact_id, version, scope.meta))


@routes.get(
    "/v1/artifacts/{artifact_id}/lineage", permission="artifacts.read", query=LineageQuery, response=LineageView
)
def get_lineage(scope, artifact_id):
    return json_response(artifact_versions.lineage(scope.caller, artifact_id, scope.params.depth))


# ---------------------------------------------------------------- S3 object-created events
def artifact_object_created_pattern() -> dict:
    """The EventBridge pattern for uploads of version content into this stage's bucket (also used to wire
    the local stack)."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [get_settings().artifact_bucket]},
            "object": {"key": [{"prefix": rules.OBJECT_PREFIX}]},
        },
    }


def handle_artifact_object_created(raw_event: dict) -> dict:
    # Imported here: every function shares app.py, and the API handler should not pay for event classes.
    from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

    event = S3EventBridgeNotificationEvent(raw_event)
    created = event.detail.object.raw_event
    # The raw key: the domain decodes it only if needed (AWS URL-encodes keys in events, moto does not, and
    # Powertools' `key` would turn the `+` of build metadata into a space).
    key = created.get("key") or ""
    # AWS names the field "version-id" (Powertools' `version_id` raises without it, as in an unversioned
    # bucket); some emitters write "versionId". Read both, and tolerate neither.
    object_version_id = created.get("version-id") or created.get("versionId") or None
    outcome = artifact_versions.object_landed(key, object_version_id, RequestMeta(request_id=raw_event.get("id")))
    log = logger.warning if outcome == "ignored" else logger.info
    log("artifact object observed", extra={"key": key, "object_version_id": object_version_id, "outcome": outcome})
    metrics.add_metric(name=f"ArtifactUploads{outcome.capitalize()}", unit="Count", value=1)
    return {"key": key, "object_version_id": object_version_id, "outcome": outcome}
