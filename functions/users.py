"""/v1/users: the tenant's people and their roles (admins manage; everyone in the tenant can read)."""

from chalice import Blueprint
from pydantic import Field

from functions.auth import EMAIL_PATTERN, PASSWORD_FIELD_MAX
from functions.authorizer import maestro_authorizer
from functions.identity_views import RoleName, UserView
from maestro.http.api import etag_response, json_response
from maestro.http.requests import Name, RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import DeletedView
from maestro.services import identity

users_api = Blueprint(__name__)
routes = RouteKit(users_api, maestro_authorizer)


class UserIn(RequestModel):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    name: Name = Field(min_length=1, max_length=200)
    role: RoleName
    password: str | None = Field(default=None, min_length=1, max_length=PASSWORD_FIELD_MAX)
    invite: bool = False


class UserPatch(RequestModel):
    role: RoleName | None = None
    active: bool | None = None


class CreatedUserView(UserView):
    invite_token: str | None = Field(default=None, description="shown once, when invite is true")


@routes.post(
    "/v1/users", permission="users.manage", audit="user.create", body=UserIn, response=CreatedUserView, status=201
)
def create_user(scope):
    body = scope.body()
    created = identity.create_user(
        scope.caller, body.email, body.name, body.role, body.password, body.invite, scope.meta
    )
    return etag_response(created, status=201)


@routes.get("/v1/users", permission="users.read", response=UserView, paginated=True)
def list_users(scope):
    return json_response(identity.list_users(scope.caller, scope.params.limit, scope.params.cursor).to_body())


@routes.get("/v1/users/{user_id}", permission="users.read", response=UserView)
def get_user(scope, user_id):
    return etag_response(identity.get_user(scope.caller, user_id))


@routes.patch("/v1/users/{user_id}", permission="users.manage", audit="user.update", body=UserPatch, response=UserView)
def update_user(scope, user_id):
    body = scope.body()
    return etag_response(
        identity.update_user(
            scope.caller,
            user_id,
            role=body.role,
            active=body.active,
            expected_version=scope.expected_version,
            meta=scope.meta,
        )
    )


@routes.delete("/v1/users/{user_id}", permission="users.manage", audit="user.delete", response=DeletedView)
def delete_user(scope, user_id):
    identity.delete_user(scope.caller, user_id, scope.meta)
    return json_response({"id": user_id, "deleted": True})
