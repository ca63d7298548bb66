"""Parsing and validating request bodies and parameters into pydantic models."""
from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from maestro.domain.errors import InvalidInput, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)


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
