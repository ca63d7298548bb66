"""`Client`: one typed method per route of the Maestro ML API, plus a few flows built from them (upload an
artifact version and wait until it is verified, download one and check its SHA-256, push metric events in
batches, wait for a job).

Each route method carries its (method, path) in `ENDPOINTS` through `@endpoint`, so a test can check that the
client covers every route the platform serves. Lists return a `Page`; iterating it walks every page."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar
from urllib.parse import quote

from maestro_client.errors import MaestroError, error_for
from maestro_client.pagination import Page
from maestro_client.transport import ApiKey, Credentials, RetryPolicy, Tokens, Transport

Json = dict[str, Any]
Role = Literal["admin", "developer", "viewer"]
ArtifactType = Literal["feature_pipeline", "model_template", "schema", "notebook", "dataset", "model"]
ProblemClass = str  # e.g. "classification"; the platform validates (422 lists the allowed values)
SearchMode = Literal["keyword", "semantic", "hybrid"]
Moment = datetime | date | str | None

F = TypeVar("F", bound=Callable[..., Any])

# (HTTP method, path template) -> Client method name
ENDPOINTS: dict[tuple[str, str], str] = {}


def endpoint(method: str, path: str) -> Callable[[F], F]:
    def register(function: F) -> F:
        ENDPOINTS[(method, path)] = function.__name__
        function.endpoint = (method, path)  # type: ignore[attr-defined]
        return function

    return register


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # a PATCH field left out (None would send null)


class IntegrityError(MaestroError):
    """Downloaded bytes do not match the SHA-256 the platform verified."""


class WaitTimeout(MaestroError):
    """A wait (version verification, job) did not finish in time."""


def _segment(value: str) -> str:
    # `@` stays as is: `@champion` names an alias wherever a version goes, and `@` is legal in a path segment.
    return quote(str(value), safe="@")


def _moment(value: Moment) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def _instant(value: Moment) -> str | None:
    """A point in time as the API wants it, with a zone: a date is its midnight in UTC, a naive datetime is UTC
    (a string is sent as given)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    return _moment(value)


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional fields not given (None / UNSET), so the platform applies its defaults."""
    return {k: v for k, v in body.items() if v is not None and v is not UNSET}


def _patch(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not UNSET}


def _if_match(version: int | str | None) -> dict[str, str] | None:
    if version is None:
        return None
    text = str(version)
    return {"If-Match": text if text.startswith(('"', "W/")) else f'"{text}"'}


def file_sha256(path: str | os.PathLike[str], chunk_size: int = 1024 * 1024) -> tuple[str, int]:
    """(hex SHA-256, size in bytes) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _ProgressReader:
    """A file object for requests' body that reports bytes read (requests streams it, using __len__ for
    Content-Length)."""

    def __init__(self, handle: BinaryIO, size: int, progress: Callable[[int], None] | None) -> None:
        self.handle, self.size, self.progress = handle, size, progress

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        chunk = self.handle.read(amount)
        if chunk and self.progress:
            self.progress(len(chunk))
        return chunk


class Client:
    """A client bound to one API and one credential: `Client(url, api_key=...)`, `Client(url, token=...)`, or
    `Client.login(url, email, password)`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        credentials: Credentials | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if credentials is None and api_key:
            credentials = ApiKey(api_key)
        elif credentials is None and token:
            credentials = Tokens(token, refresh_token)
        self.transport = Transport(base_url, credentials, timeout=timeout, retry=retry, sleep=sleep)

    @classmethod
    def login(cls, base_url: str, email: str, password: str, **kwargs: Any) -> Client:
        client = cls(base_url, **kwargs)
        client.transport.credentials = Tokens.from_answer(client.auth_login(email, password))
        return client

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    # ------------------------------------------------------------------ plumbing
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        idempotency_key: str | None = None,
    ) -> Any:
        return self.transport.call(
            method,
            path,
            params=params,
            json=json,
            headers=headers,
            authenticated=authenticated,
            idempotency_key=idempotency_key,
        )

    def _presigned(self, link: Json, **kwargs: Any) -> Any:
        """Follow a presigned S3 URL ({url, method, headers}) as given: no credentials, no retries (a body may
        be a stream); a refusal raises like any API error."""
        method = link.get("method", "GET")
        response = self.transport.session.request(
            method,
            link["url"],
            headers=dict(link.get("headers") or {}),
            timeout=max(self.transport.timeout, 300),
            **kwargs,
        )
        if response.status_code >= 300:
            raise error_for(response.status_code, response.text, method=method, url=link["url"].split("?")[0])
        return response

    def _list(self, path: str, params: dict[str, Any] | None = None, *, method: str = "GET") -> Page:
        """A page and the way to the next: GET lists carry the cursor in the query, POST searches in the body."""
        params = dict(params or {})

        def fetch(cursor: str) -> Page:
            return self._list(path, {**params, "cursor": cursor}, method=method)

        if method == "GET":
            return Page.from_body(self._call(method, path, params=params), fetch)
        return Page.from_body(self._call(method, path, json=_clean(params)), fetch)

    # ------------------------------------------------------------------ health
    @endpoint("GET", "/v1/health")
    def health(self) -> Json:
        return self._call("GET", "/v1/health", authenticated=False)

    @endpoint("GET", "/v1/openapi.json")
    def openapi(self) -> Json:
        """The API's OpenAPI 3.1 document."""
        return self._call("GET", "/v1/openapi.json", authenticated=False)

    # ------------------------------------------------------------------ auth
    @endpoint("POST", "/v1/auth/signup")
    def auth_signup(self, tenant_name: str, email: str, password: str, name: str) -> Json:
        """Create a tenant and its first admin; returns tokens and the user."""
        return self._call(
            "POST",
            "/v1/auth/signup",
            authenticated=False,
            json={"tenant_name": tenant_name, "email": email, "password": password, "name": name},
        )

    @endpoint("POST", "/v1/auth/login")
    def auth_login(self, email: str, password: str) -> Json:
        """{access_token, refresh_token, token_type, expires_in, user}."""
        return self._call("POST", "/v1/auth/login", authenticated=False, json={"email": email, "password": password})

    @endpoint("POST", "/v1/auth/refresh")
    def auth_refresh(self, refresh_token: str) -> Json:
        """Exchange a (single-use) refresh token for a new pair."""
        return self._call("POST", "/v1/auth/refresh", authenticated=False, json={"refresh_token": refresh_token})

    @endpoint("POST", "/v1/auth/accept-invite")
    def auth_accept_invite(self, invite_token: str, password: str) -> Json:
        return self._call(
            "POST",
            "/v1/auth/accept-invite",
            authenticated=False,
            json={"invite_token": invite_token, "password": password},
        )

    @endpoint("POST", "/v1/auth/logout")
    def auth_logout(self) -> Json:
        return self._call("POST", "/v1/auth/logout")

    @endpoint("GET", "/v1/auth/me")
    def me(self) -> Json:
        return self._call("GET", "/v1/auth/me")

    # ------------------------------------------------------------------ API keys
    @endpoint("POST", "/v1/api-keys")
    def create_api_key(self, name: str, role: Role, expires_at: Moment = None) -> Json:
        """The answer's `key` is shown once."""
        return self._call(
            "POST", "/v1/api-keys", json=_clean({"name": name, "role": role, "expires_at": _instant(expires_at)})
        )

    @endpoint("GET", "/v1/api-keys")
    def list_api_keys(self, limit: int | None = None, cursor: str | None = None) -> Page:
        return self._list("/v1/api-keys", {"limit": limit, "cursor": cursor})

    @endpoint("DELETE", "/v1/api-keys/{key_id}")
    def revoke_api_key(self, key_id: str) -> Json:
        return self._call("DELETE", f"/v1/api-keys/{_segment(key_id)}")

    # ------------------------------------------------------------------ users and tenant
    @endpoint("POST", "/v1/users")
    def create_user(self, email: str, name: str, role: Role, password: str | None = None, invite: bool = False) -> Json:
        return self._call(
            "POST",
            "/v1/users",
            json=_clean({"email": email, "name": name, "role": role, "password": password, "invite": invite}),
        )

    @endpoint("GET", "/v1/users")
    def list_users(self, limit: int | None = None, cursor: str | None = None) -> Page:
        return self._list("/v1/users", {"limit": limit, "cursor": cursor})

    @endpoint("GET", "/v1/users/{user_id}")
    def get_user(self, user_id: str) -> Json:
        return self._call("GET", f"/v1/users/{_segment(user_id)}")

    @endpoint("PATCH", "/v1/users/{user_id}")
    def update_user(
        self, user_id: str, *, role: Role | None = None, active: bool | None = None, if_match: int | str | None = None
    ) -> Json:
        return self._call(
            "PATCH",
            f"/v1/users/{_segment(user_id)}",
            json=_clean({"role": role, "active": active}),
            headers=_if_match(if_match),
        )

    @endpoint("DELETE", "/v1/users/{user_id}")
    def delete_user(self, user_id: str) -> Json:
        return self._call("DELETE", f"/v1/users/{_segment(user_id)}")

    @endpoint("GET", "/v1/tenant")
    def get_tenant(self) -> Json:
        """The tenant with its usage against quota (admins)."""
        return self._call("GET", "/v1/tenant")

    @endpoint("PUT", "/v1/tenant/success-weights")
    def set_success_weights(self, weights: dict[str, float]) -> Json:
        return self._call("PUT", "/v1/tenant/success-weights", json={"weights": weights})

    # ------------------------------------------------------------------ audit
    @endpoint("GET", "/v1/audit")
    def list_audit_events(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
        from_: Moment = None,
        to: Moment = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        return self._list(
            "/v1/audit",
            {
                "actor": actor,
                "action": action,
                "resource": resource,
                "from": _instant(from_),
                "to": _instant(to),
                "limit": limit,
                "cursor": cursor,
            },
        )

    @endpoint("GET", "/v1/audit/verify")
    def verify_audit(self) -> Json:
        """{intact, checked, first_broken}."""
        return self._call("GET", "/v1/audit/verify")

    # ------------------------------------------------------------------ projects
    @endpoint("POST", "/v1/projects")
    def create_project(
        self,
        name: str,
        problem_class: ProblemClass,
        complexity_score: float,
        team_size: int,
        *,
        description: str | None = None,
        start_date: date | str | None = None,
        repositories: list[str] | None = None,
        mlflow_experiment: str | None = None,
        features: dict[str, float] | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        return self._call(
            "POST",
            "/v1/projects",
            idempotency_key=idempotency_key,
            json=_clean(
                {
                    "name": name,
                    "problem_class": problem_class,
                    "complexity_score": complexity_score,
                    "team_size": team_size,
                    "description": description,
                    "start_date": _moment(start_date),
                    "repositories": repositories,
                    "mlflow_experiment": mlflow_experiment,
                    "features": features,
                }
            ),
        )

    @endpoint("GET", "/v1/projects")
    def list_projects(
        self,
        *,
        status: str | None = None,
        problem_class: ProblemClass | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        return self._list(
            "/v1/projects", {"status": status, "problem_class": problem_class, "limit": limit, "cursor": cursor}
        )

    @endpoint("GET", "/v1/projects/{project_id}")
    def get_project(self, project_id: str) -> Json:
        return self._call("GET", f"/v1/projects/{_segment(project_id)}")

    @endpoint("PATCH", "/v1/projects/{project_id}")
    def update_project(
        self,
        project_id: str,
        *,
        name: str = UNSET,
        description: str = UNSET,
        complexity_score: float = UNSET,
        team_size: int = UNSET,
        start_date: date | str | None = UNSET,
        repositories: list[str] = UNSET,
        mlflow_experiment: str | None = UNSET,
        features: dict[str, float] = UNSET,
        if_match: int | str | None = None,
    ) -> Json:
        body = _patch(
            {
                "name": name,
                "description": description,
                "complexity_score": complexity_score,
                "team_size": team_size,
                "repositories": repositories,
                "mlflow_experiment": mlflow_experiment,
                "features": features,
                "start_date": start_date if start_date in (None, UNSET) else _moment(start_date),
            }
        )
        return self._call("PATCH", f"/v1/projects/{_segment(project_id)}", json=body, headers=_if_match(if_match))

    @endpoint("DELETE", "/v1/projects/{project_id}")
    def delete_project(self, project_id: str) -> Json:
        return self._call("DELETE", f"/v1/projects/{_segment(project_id)}")

    @endpoint("PUT", "/v1/projects/{project_id}/outcome")
    def record_outcome(
        self,
        project_id: str,
        *,
        model_performance: float,
        business_impact_usd: float,
        duration_days: float,
        compute_cost_usd: float,
        completed_at: Moment,
    ) -> Json:
        return self._call(
            "PUT",
            f"/v1/projects/{_segment(project_id)}/outcome",
            json={
                "model_performance": model_performance,
                "business_impact_usd": business_impact_usd,
                "duration_days": duration_days,
                "compute_cost_usd": compute_cost_usd,
                "completed_at": _instant(completed_at),
            },
        )

    @endpoint("POST", "/v1/projects/{project_id}/members")
    def add_member(
        self,
        project_id: str,
        *,
        display_name: str,
        role: str,
        experience_level: str,
        user_id: str | None = None,
        contribution_hours: float | None = None,
    ) -> Json:
        return self._call(
            "POST",
            f"/v1/projects/{_segment(project_id)}/members",
            json=_clean(
                {
                    "display_name": display_name,
                    "role": role,
                    "experience_level": experience_level,
                    "user_id": user_id,
                    "contribution_hours": contribution_hours,
                }
            ),
        )

    @endpoint("GET", "/v1/projects/{project_id}/members")
    def list_members(self, project_id: str, limit: int | None = None, cursor: str | None = None) -> Page:
        return self._list(f"/v1/projects/{_segment(project_id)}/members", {"limit": limit, "cursor": cursor})

    @endpoint("DELETE", "/v1/projects/{project_id}/members/{member_id}")
    def remove_member(self, project_id: str, member_id: str) -> Json:
        return self._call("DELETE", f"/v1/projects/{_segment(project_id)}/members/{_segment(member_id)}")

    @endpoint("GET", "/v1/projects/{project_id}/artifacts")
    def project_artifacts(self, project_id: str, limit: int | None = None, cursor: str | None = None) -> Page:
        """The artifacts (and versions) the project used."""
        return self._list(f"/v1/projects/{_segment(project_id)}/artifacts", {"limit": limit, "cursor": cursor})

    @endpoint("GET", "/v1/projects/{project_id}/similar")
    def similar_projects(self, project_id: str, limit: int | None = None) -> Json:
        return self._call("GET", f"/v1/projects/{_segment(project_id)}/similar", params={"limit": limit})

    @endpoint("POST", "/v1/projects/import")
    def import_projects(self, projects: list[Json], *, dry_run: bool = False) -> Json:
        """Up to 500 projects (each with external_id; optional outcome, members, usages) in one call. The answer
        counts created, updated, unchanged and lists rejected rows (index, external_id, reason); 200 or 207."""
        return self._call(
            "POST", "/v1/projects/import", params={"dry_run": "true"} if dry_run else None, json={"projects": projects}
        )

    @endpoint("POST", "/v1/projects/import-uploads")
    def create_import_upload(self, file_name: str, *, dry_run: bool = False) -> Json:
        """A presigned PUT for a CSV or JSONL file of projects; imported when it lands."""
        return self._call("POST", "/v1/projects/import-uploads", json={"file_name": file_name, "dry_run": dry_run})

    @endpoint("GET", "/v1/projects/import-uploads/{import_upload_id}")
    def get_import_upload(self, upload_id: str) -> Json:
        """An import upload's state, counts so far and first refused rows."""
        return self._call("GET", f"/v1/projects/import-uploads/{_segment(upload_id)}")

    def upload_import(self, file_name: str, data: bytes, *, dry_run: bool = False) -> Json:
        """Create an import upload and PUT `data` to it; poll get_import_upload(answer["id"]) for the result."""
        created = self.create_import_upload(file_name, dry_run=dry_run)
        self._presigned(created["upload"], data=data)
        return created

    # ------------------------------------------------------------------ artifacts
    @endpoint("POST", "/v1/artifacts")
    def create_artifact(
        self,
        name: str,
        type: ArtifactType,
        *,
        description: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        owner: str | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        return self._call(
            "POST",
            "/v1/artifacts",
            idempotency_key=idempotency_key,
            json=_clean(
                {
                    "name": name,
                    "type": type,
                    "description": description,
                    "tags": tags,
                    "metadata": metadata,
                    "owner": owner,
                }
            ),
        )

    @staticmethod
    def _search_body(
        query: str | None,
        mode: SearchMode | None,
        type: ArtifactType | None,
        tags: list[str] | None,
        min_impact_score: float | None,
        include_deprecated: bool | None,
        sort: str | None,
        limit: int | None,
    ) -> dict[str, Any]:
        return _clean(
            {
                "query": query,
                "mode": mode,
                "type": type,
                "tags": tags or None,
                "min_impact_score": min_impact_score,
                "include_deprecated": include_deprecated,
                "sort": sort,
                "limit": limit,
            }
        )

    @endpoint("GET", "/v1/artifacts")
    def list_artifacts(
        self,
        *,
        query: str | None = None,
        mode: SearchMode | None = None,
        type: ArtifactType | None = None,
        tags: list[str] | None = None,
        min_impact_score: float | None = None,
        include_deprecated: bool | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        params = self._search_body(query, mode, type, tags, min_impact_score, include_deprecated, sort, limit)
        if "tags" in params:
            params["tags"] = ",".join(params["tags"])
        if "include_deprecated" in params:
            params["include_deprecated"] = str(params["include_deprecated"]).lower()
        return self._list("/v1/artifacts", {**params, "cursor": cursor})

    @endpoint("POST", "/v1/artifacts/search")
    def search_artifacts(
        self,
        query: str | None = None,
        *,
        mode: SearchMode | None = None,
        type: ArtifactType | None = None,
        tags: list[str] | None = None,
        min_impact_score: float | None = None,
        include_deprecated: bool | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """Keyword, semantic or hybrid search; each hit has `score`, `mode`, `found_by`."""
        body = self._search_body(query, mode, type, tags, min_impact_score, include_deprecated, sort, limit)
        return self._list("/v1/artifacts/search", {**body, "cursor": cursor}, method="POST")

    @endpoint("GET", "/v1/artifacts/top")
    def top_artifacts(self, type: ArtifactType | None = None, limit: int | None = None) -> Page:
        return self._list("/v1/artifacts/top", {"type": type, "limit": limit})

    @endpoint("GET", "/v1/artifacts/{artifact_id}")
    def get_artifact(self, artifact_id: str) -> Json:
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}")

    @endpoint("PATCH", "/v1/artifacts/{artifact_id}")
    def update_artifact(
        self,
        artifact_id: str,
        *,
        description: str = UNSET,
        tags: list[str] = UNSET,
        metadata: dict[str, Any] = UNSET,
        deprecated: dict[str, Any] | None = UNSET,
        if_match: int | str | None = None,
    ) -> Json:
        """`deprecated={"reason": ..., "replacement_id": ...}` deprecates."""
        body = _patch({"description": description, "tags": tags, "metadata": metadata, "deprecated": deprecated})
        return self._call("PATCH", f"/v1/artifacts/{_segment(artifact_id)}", json=body, headers=_if_match(if_match))

    @endpoint("DELETE", "/v1/artifacts/{artifact_id}")
    def delete_artifact(self, artifact_id: str) -> Json:
        return self._call("DELETE", f"/v1/artifacts/{_segment(artifact_id)}")

    @endpoint("POST", "/v1/artifacts/{artifact_id}/usages")
    def record_usage(self, artifact_id: str, project_id: str, version: str, context: str | None = None) -> Json:
        return self._call(
            "POST",
            f"/v1/artifacts/{_segment(artifact_id)}/usages",
            json=_clean({"project_id": project_id, "version": version, "context": context}),
        )

    @endpoint("GET", "/v1/artifacts/{artifact_id}/analytics")
    def artifact_analytics(self, artifact_id: str) -> Json:
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}/analytics")

    @endpoint("POST", "/v1/artifacts/embeddings/backfill")
    def backfill_embeddings(self) -> Json:
        return self._call("POST", "/v1/artifacts/embeddings/backfill")

    @endpoint("POST", "/v1/match")
    def match(
        self,
        text: str | None = None,
        *,
        user_stories: list[str] | None = None,
        requirements: list[str] | None = None,
        data_entities: list[str] | None = None,
        endpoints: list[str] | None = None,
        types: list[ArtifactType] | None = None,
        limit: int | None = None,
    ) -> Json:
        """Artifacts that fit described work, each with a reuse suggestion."""
        spec = _clean(
            {
                "user_stories": user_stories,
                "requirements": requirements,
                "data_entities": data_entities,
                "endpoints": endpoints,
            }
        )
        return self._call(
            "POST", "/v1/match", json=_clean({"text": text, "spec": spec or None, "types": types, "limit": limit})
        )

    # ------------------------------------------------------------------ artifact versions
    @endpoint("POST", "/v1/artifacts/{artifact_id}/versions")
    def create_version(
        self,
        artifact_id: str,
        version: str,
        *,
        size_bytes: int,
        sha256: str,
        content_type: str,
        description: str | None = None,
        derived_from: list[dict[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        """Declare a version; the answer's `upload` is the presigned PUT (url, method, headers, expires_at)."""
        return self._call(
            "POST",
            f"/v1/artifacts/{_segment(artifact_id)}/versions",
            idempotency_key=idempotency_key,
            json=_clean(
                {
                    "version": version,
                    "size_bytes": size_bytes,
                    "sha256": sha256,
                    "content_type": content_type,
                    "description": description,
                    "derived_from": derived_from,
                }
            ),
        )

    @endpoint("GET", "/v1/artifacts/{artifact_id}/versions")
    def list_versions(self, artifact_id: str, limit: int | None = None, cursor: str | None = None) -> Page:
        return self._list(f"/v1/artifacts/{_segment(artifact_id)}/versions", {"limit": limit, "cursor": cursor})

    @endpoint("GET", "/v1/artifacts/{artifact_id}/versions/{version}")
    def get_version(self, artifact_id: str, version: str) -> Json:
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}")

    @endpoint("POST", "/v1/artifacts/{artifact_id}/versions/{version}/complete")
    def complete_upload(self, artifact_id: str, version: str) -> Json:
        """Ask the platform to verify the uploaded bytes now (large objects stay pending for the S3 event)."""
        return self._call("POST", f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}/complete")

    @endpoint("GET", "/v1/artifacts/{artifact_id}/versions/{version}/download")
    def download_link(self, artifact_id: str, version: str) -> Json:
        """A presigned GET (5 minutes) pinned to the verified bytes, with their `sha256`."""
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}/download")

    @endpoint("GET", "/v1/artifacts/{artifact_id}/lineage")
    def lineage(self, artifact_id: str, depth: int | None = None) -> Json:
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}/lineage", params={"depth": depth})

    # ------------------------------------------------------------------ aliases
    @endpoint("PUT", "/v1/artifacts/{artifact_id}/aliases/{alias}")
    def set_alias(self, artifact_id: str, alias: str, version: str, if_match: int | str | None = None) -> Json:
        """Point `alias` at a ready `version` (or `@other`); with `if_match` (the alias's revision) only if it was
        not moved since."""
        path = f"/v1/artifacts/{_segment(artifact_id)}/aliases/{_segment(alias)}"
        return self._call("PUT", path, json={"version": version}, headers=_if_match(if_match))

    @endpoint("DELETE", "/v1/artifacts/{artifact_id}/aliases/{alias}")
    def remove_alias(self, artifact_id: str, alias: str, if_match: int | str | None = None) -> Json:
        path = f"/v1/artifacts/{_segment(artifact_id)}/aliases/{_segment(alias)}"
        return self._call("DELETE", path, headers=_if_match(if_match))

    @endpoint("GET", "/v1/artifacts/{artifact_id}/aliases/{alias}")
    def get_alias(self, artifact_id: str, alias: str) -> Json:
        return self._call("GET", f"/v1/artifacts/{_segment(artifact_id)}/aliases/{_segment(alias)}")

    @endpoint("GET", "/v1/artifacts/{artifact_id}/aliases")
    def list_aliases(self, artifact_id: str, limit: int | None = None, cursor: str | None = None) -> Page:
        return self._list(f"/v1/artifacts/{_segment(artifact_id)}/aliases", {"limit": limit, "cursor": cursor})

    @endpoint("GET", "/v1/tenant/protected-aliases")
    def protected_aliases(self) -> Json:
        return self._call("GET", "/v1/tenant/protected-aliases")

    @endpoint("PUT", "/v1/tenant/protected-aliases")
    def set_protected_aliases(self, aliases: list[str]) -> Json:
        """Replace the aliases only admins may move (admins)."""
        return self._call("PUT", "/v1/tenant/protected-aliases", json={"aliases": aliases})

    # ------------------------------------------------------------------ serving
    @endpoint("POST", "/v1/artifacts/{artifact_id}/versions/{version}/predict")
    def predict_version(
        self,
        artifact_id: str,
        version: str,
        inputs: dict[str, Any] | None = None,
        instances: list[Any] | None = None,
    ) -> Json:
        """Run a served model version (`version` may be `@champion`): `inputs` by name, or `instances` for a
        single-input model; {outputs, model_version, latency_ms}."""
        return self._call(
            "POST",
            f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}/predict",
            json=_clean({"inputs": inputs, "instances": instances}),
        )

    @endpoint("GET", "/v1/artifacts/{artifact_id}/versions/{version}/serving")
    def serving_stats(self, artifact_id: str, version: str, days: int | None = None) -> Json:
        """Requests, errors, latency, input summaries per day and input drift of a served version."""
        return self._call(
            "GET", f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}/serving", params={"days": days}
        )

    @endpoint("PUT", "/v1/artifacts/{artifact_id}/versions/{version}/serving/reference")
    def set_reference_profile(self, artifact_id: str, version: str, features: dict[str, list[float]]) -> Json:
        """Upload the reference values (feature -> values) drift is measured against."""
        return self._call(
            "PUT",
            f"/v1/artifacts/{_segment(artifact_id)}/versions/{_segment(version)}/serving/reference",
            json={"features": features},
        )

    def upload_version(
        self,
        artifact_id: str,
        path: str | os.PathLike[str],
        version: str,
        *,
        content_type: str = "application/octet-stream",
        description: str | None = None,
        derived_from: list[dict[str, str]] | None = None,
        wait: bool = True,
        timeout: float = 120.0,
        progress: Callable[[int], None] | None = None,
        poll_interval: float = 0.2,
    ) -> Json:
        """Declare `version` with the file's size and SHA-256, PUT the bytes to the presigned URL (calling
        `progress(n_bytes)` as they go), and with `wait`, return the version once verified (`status` is
        `ready` or `rejected` with `status_reason`)."""
        sha256, size = file_sha256(path)
        created = self.create_version(
            artifact_id,
            version,
            size_bytes=size,
            sha256=sha256,
            content_type=content_type,
            description=description,
            derived_from=derived_from,
        )
        upload = created["upload"]
        with open(path, "rb") as handle:
            self._presigned(upload, data=_ProgressReader(handle, size, progress))
        if not wait:
            return {k: v for k, v in created.items() if k != "upload"}
        try:
            view = self.complete_upload(artifact_id, version)
            if view.get("status") != "pending":
                return view  # verified (200) or rejected: no need to ask again
        except MaestroError:
            pass  # the S3 event may already have decided it; poll below
        return self.wait_for_version(artifact_id, version, timeout=timeout, poll_interval=poll_interval)

    def _poll(
        self,
        fetch: Callable[[], Json],
        done: Callable[[Json], bool],
        *,
        timeout: float,
        poll_interval: float,
        still: Callable[[Json], str],
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """fetch() until done(answer) or `timeout` seconds pass (WaitTimeout says `still(answer)`)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = fetch()
            if on_update:
                on_update(answer)
            if done(answer):
                return answer
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"{still(answer)} after {timeout:g}s")
            self.transport.sleep(poll_interval)

    def wait_for_version(
        self, artifact_id: str, version: str, *, timeout: float = 120.0, poll_interval: float = 0.2
    ) -> Json:
        return self._poll(
            lambda: self.get_version(artifact_id, version),
            lambda v: v.get("status") != "pending",
            timeout=timeout,
            poll_interval=poll_interval,
            still=lambda v: f"version {version} of {artifact_id} still pending",
        )

    def download_version(
        self,
        artifact_id: str,
        version: str,
        dest: str | os.PathLike[str],
        *,
        progress: Callable[[int], None] | None = None,
        on_size: Callable[[int | None], None] | None = None,
    ) -> Json:
        """Stream the verified bytes of `version` to `dest` and check their SHA-256; returns the link."""
        link = self.download_link(artifact_id, version)
        response = self._presigned(link, stream=True)
        if on_size:
            length = response.headers.get("Content-Length")
            on_size(int(length) if length and length.isdigit() else None)
        digest = hashlib.sha256()
        target = Path(dest)
        partial = target.with_name(target.name + ".part")
        with open(partial, "wb") as out:
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(len(chunk))
        expected = link.get("sha256")
        if expected and digest.hexdigest() != expected:
            partial.unlink(missing_ok=True)
            raise IntegrityError(f"downloaded bytes have SHA-256 {digest.hexdigest()}, expected {expected}")
        os.replace(partial, target)
        return link

    # ------------------------------------------------------------------ process metrics
    @endpoint("POST", "/v1/metrics")
    def post_metrics(self, events: list[dict[str, Any]], idempotency_key: str | None = None) -> Json:
        """Up to 1,000 events; {accepted, duplicates, rejected, ...} (HTTP 207 when some were rejected)."""
        return self._call("POST", "/v1/metrics", json={"events": events}, idempotency_key=idempotency_key)

    def push_metrics(self, events: Iterable[dict[str, Any]], batch_size: int = 1000) -> list[Json]:
        """post_metrics in batches; returns each batch's answer, its rejected indexes counted across all events."""
        answers: list[Json] = []
        batch: list[dict[str, Any]] = []
        sent = 0

        def post() -> None:
            answer = self.post_metrics(batch)
            answer["rejected"] = [
                {**item, "index": sent + int(item.get("index", 0))} for item in answer.get("rejected") or []
            ]
            answers.append(answer)

        for event in events:
            batch.append(event)
            if len(batch) >= batch_size:
                post()
                sent, batch = sent + len(batch), []
        if batch:
            post()
        return answers

    @endpoint("GET", "/v1/metric-types")
    def list_metric_types(self) -> Page:
        return self._list("/v1/metric-types")

    @endpoint("POST", "/v1/metric-types")
    def register_metric_type(self, metric_type: str, unit: str, description: str | None = None) -> Json:
        return self._call(
            "POST",
            "/v1/metric-types",
            json=_clean({"metric_type": metric_type, "unit": unit, "description": description}),
        )

    @endpoint("POST", "/v1/projects/{project_id}/ingest-uploads")
    def create_ingest_upload(self, project_id: str, file_name: str, content_type: str | None = None) -> Json:
        """A presigned PUT into the project's drop zone (.jsonl, .gitlog, .xml, .json)."""
        return self._call(
            "POST",
            f"/v1/projects/{_segment(project_id)}/ingest-uploads",
            json=_clean({"file_name": file_name, "content_type": content_type}),
        )

    def upload_drop(self, project_id: str, file_name: str, data: bytes, content_type: str | None = None) -> Json:
        """Create an ingest upload and PUT `data` to it; the platform ingests it asynchronously."""
        created = self.create_ingest_upload(project_id, file_name, content_type)
        self._presigned(created["upload"], data=data)
        return created

    @endpoint("GET", "/v1/projects/{project_id}/ingest-uploads/{upload_id}")
    def get_ingest_upload(self, project_id: str, upload_id: str) -> Json:
        """A drop's state (awaiting_upload, processing, ingested, rejected) and its manifest once ingested."""
        return self._call("GET", f"/v1/projects/{_segment(project_id)}/ingest-uploads/{_segment(upload_id)}")

    @endpoint("PUT", "/v1/projects/{project_id}/integrations/github")
    def connect_github(self, project_id: str, repository: str, webhook_secret: str) -> Json:
        return self._call(
            "PUT",
            f"/v1/projects/{_segment(project_id)}/integrations/github",
            json={"repository": repository, "webhook_secret": webhook_secret},
        )

    @endpoint("POST", "/v1/integrations/github/webhook")
    def github_webhook(self, payload: bytes, *, event: str, delivery: str, signature: str) -> Json:
        """Deliver a GitHub webhook (as GitHub does: signed, unauthenticated)."""
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        }
        response = self.transport.send(
            "POST", "/v1/integrations/github/webhook", data=payload, headers=headers, authenticated=False
        )
        return response.json() if response.content else {}

    def _analytics(self, project_id: str, name: str, from_: Moment, to: Moment, **params: Any) -> Json:
        return self._call(
            "GET",
            f"/v1/projects/{_segment(project_id)}/{name}",
            params={"from": _instant(from_), "to": _instant(to), **params},
        )

    @endpoint("GET", "/v1/projects/{project_id}/metrics")
    def project_metrics(
        self,
        project_id: str,
        type: str,
        *,
        bucket: Literal["day", "week", "month"] | None = None,
        from_: Moment = None,
        to: Moment = None,
    ) -> Json:
        return self._analytics(project_id, "metrics", from_, to, type=type, bucket=bucket)

    @endpoint("GET", "/v1/projects/{project_id}/metrics/summary")
    def metrics_summary(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "metrics/summary", from_, to)

    @endpoint("GET", "/v1/projects/{project_id}/git")
    def git_analytics(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "git", from_, to)

    @endpoint("GET", "/v1/projects/{project_id}/dora")
    def dora(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "dora", from_, to)

    @endpoint("GET", "/v1/projects/{project_id}/ci")
    def ci_analytics(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "ci", from_, to)

    @endpoint("GET", "/v1/projects/{project_id}/velocity")
    def velocity(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "velocity", from_, to)

    @endpoint("GET", "/v1/projects/{project_id}/team-analytics")
    def team_analytics(self, project_id: str, *, from_: Moment = None, to: Moment = None) -> Json:
        return self._analytics(project_id, "team-analytics", from_, to)

    @endpoint("PUT", "/v1/integrations/mlflow")
    def connect_mlflow(
        self,
        tracking_uri: str,
        *,
        primary_metric: str | None = None,
        direction: Literal["maximize", "minimize"] | None = None,
        token: str | None = None,
    ) -> Json:
        return self._call(
            "PUT",
            "/v1/integrations/mlflow",
            json=_clean(
                {"tracking_uri": tracking_uri, "primary_metric": primary_metric, "direction": direction, "token": token}
            ),
        )

    @endpoint("POST", "/v1/projects/{project_id}/integrations/mlflow/sync")
    def sync_mlflow(self, project_id: str) -> Json:
        return self._call("POST", f"/v1/projects/{_segment(project_id)}/integrations/mlflow/sync")

    # ------------------------------------------------------------------ meta-learning
    @staticmethod
    def _subject(project_id: str | None, profile: dict[str, Any] | None) -> dict[str, Any]:
        if (project_id is None) == (profile is None):
            raise ValueError("give exactly one of project_id or profile")
        return {"project_id": project_id} if project_id is not None else {"profile": profile}

    @endpoint("POST", "/v1/predictions")
    def predict(self, project_id: str | None = None, *, profile: dict[str, Any] | None = None) -> Json:
        """Predicted success_score, duration_days and compute_cost_usd (point, 80/90% intervals, top
        contributions) for a project or a profile {problem_class, complexity_score, team_size, description,
        members?: [{role, experience_level, hours_per_week?}], planned_artifacts?, features?}."""
        return self._call("POST", "/v1/predictions", json=self._subject(project_id, profile))

    @endpoint("GET", "/v1/predictions/{prediction_id}")
    def get_prediction(self, prediction_id: str) -> Json:
        """A stored prediction and, once its project finished, how far off it was (`scored`)."""
        return self._call("GET", f"/v1/predictions/{_segment(prediction_id)}")

    @endpoint("POST", "/v1/recommendations")
    def recommend(
        self, project_id: str | None = None, *, profile: dict[str, Any] | None = None, limit: int | None = None
    ) -> Json:
        """Recommended artifacts (score, reasons) and team shape (current vs recommended, predicted)."""
        return self._call(
            "POST", "/v1/recommendations", json=_clean({**self._subject(project_id, profile), "limit": limit})
        )

    @endpoint("POST", "/v1/models/meta/retrain")
    def retrain_meta_model(self) -> Json:
        """Queue a retrain of the meta-learning models (admins): {id, state}."""
        return self._call("POST", "/v1/models/meta/retrain")

    @endpoint("GET", "/v1/models/meta/jobs/{job_id}")
    def get_meta_job(self, job_id: str) -> Json:
        return self._call("GET", f"/v1/models/meta/jobs/{_segment(job_id)}")

    @endpoint("GET", "/v1/models/meta")
    def get_meta_model(self) -> Json:
        """The champion models."""
        return self._call("GET", "/v1/models/meta")

    def wait_for_meta_job(
        self,
        job_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """Poll until the job is `succeeded` or `failed`; returns the last job view."""
        return self._poll(
            lambda: self.get_meta_job(job_id),
            lambda j: j.get("state") in ("succeeded", "failed"),
            timeout=timeout,
            poll_interval=poll_interval,
            on_update=on_update,
            still=lambda j: f"job {job_id} still {j.get('state')}",
        )
