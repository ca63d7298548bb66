"""Parsing and validating request bodies and parameters into pydantic models."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maestro.domain.errors import InvalidInput, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestModel(BaseModel):
    """Base of every request body model. The validator is built on first use, not at import: every function
    loads every route module, and building ~30 validators up front was a third of a cold start."""

    model_config = ConfigDict(defer_build=True)


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
    if raw_body is None or raw_body in (b"", ""):
        raise InvalidInput("a JSON request body is required")
    try:
        return json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", errors=validation_errors(exc)) from None


def parse_body(model: type[ModelT], raw_body: bytes | str | None) -> ModelT:
    return parse_model(model, parse_json(raw_body))


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
