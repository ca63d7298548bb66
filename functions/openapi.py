"""GET /v1/openapi.json: the API's OpenAPI 3.1 document, generated from the routes' own models (no auth)."""

from typing import Any

from chalice import Blueprint
from pydantic import ConfigDict, Field

from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response
from maestro.http.routes import RouteKit
from maestro.http.schemas import ResponseModel

openapi_api = Blueprint(__name__)
routes = RouteKit(openapi_api)


class OpenApiDocument(ResponseModel):
    model_config = ConfigDict(defer_build=True, extra="allow")

    openapi: str = Field(pattern=r"^3\.1\.\d+$")
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@routes.get("/v1/openapi.json", permission=PUBLIC, response=OpenApiDocument)
def get_openapi(scope):
    """The OpenAPI 3.1 document of every route this API serves."""
    from maestro.http.openapi import served_document  # builds the schemas: only when asked for

    app = openapi_api.current_app
    served = [(method, path) for path, methods in app.routes.items() for method in methods]
    return json_response(served_document(served), headers={"Cache-Control": "public, max-age=300"})
