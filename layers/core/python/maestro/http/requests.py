"""Parsing and validating request bodies and query parameters into pydantic models (RouteKit calls these)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from maestro import strict_json
from maestro.domain import text as text_rules
from maestro.domain.errors import InvalidInput, PayloadTooLarge, ValidationFailed

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


def refuse_larger_batches(field: str, maximum: int) -> Any:
    """A batch body's validator (`_at_most = refuse_larger_batches("events", 1000)` in the model): more than
    `maximum` items in `field` is 413 naming the limit (the client should split the batch), not 422."""

    def at_most(cls: type, data: Any) -> Any:
        items = data.get(field) if isinstance(data, dict) else None
        if isinstance(items, list) and len(items) > maximum:
            raise PayloadTooLarge(f"at most {maximum} {field} per request; send {len(items)} in several", limit=maximum)
        return data

    return model_validator(mode="before")(at_most)  # a classmethod: pydantic reads the `cls` parameter


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


def _to_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# An ISO 8601 moment that must carry a time zone (Z or an offset), handed to the services as UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is list:
        return True
    return origin in (Union, UnionType) and any(_is_list(option) for option in get_args(annotation))


def query_input(model: type[BaseModel], query_params: Mapping[str, str] | None) -> dict[str, Any]:
    """The model's fields as the query string gives them: the value as sent (an empty value is a value, and
    validated like any other); a list field takes every repetition and comma-separated items
    (`?tags=a&tags=b` or `?tags=a,b`). Parameters the model does not name are ignored."""
    params = query_params or {}
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in params:
            continue
        if _is_list(info.annotation):
            repeated = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
            data[key] = [item for value in repeated for item in value.split(",") if item]
        else:
            data[key] = params[key]
    return data


def parse_query(model: type[ModelT], query_params: Mapping[str, str] | None) -> ModelT:
    """The query string parsed into the route's query model; any malformed or out-of-range parameter is
    ValidationFailed (422), each one named in `errors`."""
    try:
        return model.model_validate(query_input(model, query_params))
    except ValidationError as exc:
        errors = validation_errors(exc)
        names = ", ".join(sorted({error["field"].split(".", 1)[0] for error in errors}))
        raise ValidationFailed(f"invalid query parameters: {names}", errors=errors) from None
