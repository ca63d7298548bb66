"""Bases of the pydantic models that describe the HTTP contract beside the request bodies: responses, query
parameters, the list page and the problem details. Like RequestModel, every model here builds its validator
and JSON schema on first use (`defer_build`), never at import: only the OpenAPI document and the tests use
them (maestro.http.openapi)."""

from __future__ import annotations

import functools
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from maestro.pagination import DEFAULT_LIMIT, MAX_LIMIT

ItemT = TypeVar("ItemT")


class ResponseModel(BaseModel):
    """A success body as the services build it. Closed by default (a field the model does not name fails
    the contract tests): declare `model_config = ConfigDict(extra="allow")` where an object is open."""

    model_config = ConfigDict(defer_build=True, extra="forbid")


class OpenResponseModel(ResponseModel):
    """A body whose listed fields are required but that may carry more (computed reports)."""

    model_config = ConfigDict(defer_build=True, extra="allow")


class QueryModel(BaseModel):
    """Query parameters of a route, one field each (a list field is a repeated parameter); finite numbers only."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)


class PageQuery(QueryModel):
    """The parameters of every cursor-paged list (RouteKit adds them to a `paginated=True` route's query)."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    cursor: str | None = Field(default=None, description="the `next_cursor` of the previous page")


@functools.cache
def paged_query(query: type[QueryModel] | type[BaseModel] | None) -> type[BaseModel]:
    """A paginated route's query model: its own parameters plus `limit` and `cursor` (unless it names them)."""
    if query is None:
        return PageQuery
    if {"limit", "cursor"} <= set(query.model_fields):
        return query
    return type(f"{query.__name__}Paged", (query, PageQuery), {"__module__": query.__module__})


class Page(ResponseModel, Generic[ItemT]):
    """Every list: one page of items and the opaque cursor of the next (null on the last page)."""

    items: list[ItemT]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class DeletedView(ResponseModel):
    """The answer to a DELETE: the id, and that it is gone."""

    id: str
    deleted: Literal[True]


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")

    field: str
    message: str
    type: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), the body of every 4xx and 5xx answer. Extension
    members name what failed (e.g. `permission`, `quota`, `limit`, `parameter`, `errors` for 422)."""

    model_config = ConfigDict(defer_build=True, extra="allow")

    type: str
    title: str
    status: int = Field(ge=100, le=599)
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


def as_page(item: type[Any]) -> type[Page]:
    """`Page[item]`, named after the item (UserView -> UserViewPage) so the document reads well."""
    name = f"{getattr(item, '__name__', 'Item')}Page"
    return type(
        name,
        (Page[item],),  # type: ignore[valid-type]
        {
            "__module__": getattr(item, "__module__", __name__),
            "__doc__": f"One page of {getattr(item, '__name__', 'items')}.",
        },
    )
