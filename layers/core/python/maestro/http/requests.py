"""Parsing and validating request bodies and parameters into pydantic models."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from maestro import strict_json
from maestro.domain import text as text_rules
from maestro.domain.errors import InvalidInput, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestModel(BaseModel):
    """Base of every request body model. The validator is built on first use, not at import: every function
    loads every route module, and building ~30 validators up front was a third of a cold start. Float fields
    refuse NaN and ±Infinity (also as strings such as "inf"): finite numbers only."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)


def _acceptable_content_type(value: str | None) -> str | None:
    from maestro.domain.artifact_versions import content_type_problem

    if value is not None and (problem := content_type_problem(value)):
        raise ValueError(problem)
    return value


# Name: a display name of anything (project, artifact, user, tenant, API key, team member); maestro.domain.text.
Name = text_rules.Name
# A MIME type that is handed back as a header (an upload's Content-Type): never CR/LF.
ContentType = Annotated[str, AfterValidator(_acceptable_content_type)]


def _no_default_in_schema(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Omittable(**constraints: Any) -> Any:  # noqa: N802 - reads like Field: `name: str = Omittable(...)`
    """A field a PATCH body may leave out but not set to null: absent means unchanged, and the type (not
    `X | None`) refuses an explicit null with 422 instead of storing it."""
    return Field(default=None, json_schema_extra=_no_default_in_schema, **constraints)


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as problem+json `errors` entries: where, what, and the rule broken."""
    return [
        {"field": ".".join(str(p) for p in item["loc"]) or "(body)", "message": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_input=False)
    ]


def parse_json(raw_body: bytes | str | None) -> Any:
    """The body under the platform's JSON rules (maestro.strict_json: nesting limit checked before parsing,
    finite numbers only)."""
    if raw_body is None or raw_body in (b"", ""):
        raise InvalidInput("a JSON request body is required")
    return strict_json.loads(raw_body)


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", errors=validation_errors(exc)) from None


def parse_body(model: type[ModelT], raw_body: bytes | str | None) -> ModelT:
    return parse_model(model, parse_json(raw_body))


# A client's X-Request-Id is kept (it correlates its logs with ours, and becomes the audit event's request id)
# only when it looks like an id: letters, digits and . _ : - up to 128 characters; otherwise a fresh one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_ETAG_DIGITS = 18


def client_request_id(raw: str | None) -> str | None:
    """The caller's X-Request-Id if it is a well-formed id, else None (never stored or echoed as sent)."""
    return raw if raw is not None and _REQUEST_ID.fullmatch(raw) else None


def parse_if_match(raw: str | None) -> int | None:
    """An `If-Match` ETag (a version number), or None when the header is absent; 400 for anything else (4,301
    digits would make int() raise, unicode digits too)."""
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ETAG_DIGITS:
        raise InvalidInput("If-Match must be an ETag from a previous response", header="If-Match")
    return int(value)


def parse_timestamp_param(raw: str | None, name: str):
    """An ISO 8601 query parameter with a time zone (Z or an offset), as UTC; None when absent."""
    from datetime import datetime

    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 timestamp", parameter=name) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} must carry a time zone (e.g. Z)", parameter=name)
    return moment.astimezone(UTC)
