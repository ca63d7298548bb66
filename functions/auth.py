"""/v1/auth: signup, login, token refresh, logout, the caller, and accepting an invitation."""

from typing import Literal

from chalice import Blueprint
from pydantic import Field

from functions.authorizer import maestro_authorizer
from functions.identity_views import ApiKeyView, RoleName, UserView
from maestro.domain.identity.passwords import MAX_PASSWORD_LENGTH
from maestro.domain.identity.permissions import PUBLIC
from maestro.http.api import json_response
from maestro.http.requests import Name, RequestModel
from maestro.http.routes import RouteKit
from maestro.http.schemas import ResponseModel
from maestro.services import identity

auth_api = Blueprint(__name__)
routes = RouteKit(auth_api, maestro_authorizer)

PASSWORD_FIELD_MAX = MAX_PASSWORD_LENGTH * 4  # a sanity bound; the policy (12–128 characters) is the domain's
Password = Field(min_length=1, max_length=PASSWORD_FIELD_MAX)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SignupIn(RequestModel):
    tenant_name: Name = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    password: str = Password
    name: Name = Field(min_length=1, max_length=200)


class LoginIn(RequestModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class AcceptInviteIn(RequestModel):
    invite_token: str = Field(min_length=1, max_length=512)
    password: str = Password


class TokenPairView(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token lasts")
    user: UserView


class TenantRef(ResponseModel):
    id: str
    name: str | None


class MeView(ResponseModel):
    principal_type: Literal["user", "key"]
    id: str
    role: RoleName
    tenant: TenantRef
    user: UserView | None = Field(default=None, description="for a user")
    api_key: ApiKeyView | None = Field(default=None, description="for an API key")


class LoggedOutView(ResponseModel):
    logged_out: Literal[True]


@routes.post(
    "/v1/auth/signup", permission=PUBLIC, body=SignupIn, response=TokenPairView, status=201, errors=(403, 409, 429)
)
def signup(scope):
    body = scope.body()
    pair = identity.signup(body.tenant_name, body.email, body.password, body.name, scope.meta)
    return json_response(pair.to_body(), status=201)


@routes.post("/v1/auth/login", permission=PUBLIC, body=LoginIn, response=TokenPairView, errors=(401, 429))
def login(scope):
    body = scope.body()
    return json_response(identity.login(body.email, body.password, scope.meta).to_body())


@routes.post("/v1/auth/refresh", permission=PUBLIC, body=RefreshIn, response=TokenPairView, errors=(401,))
def refresh(scope):
    body = scope.body()
    return json_response(identity.refresh(body.refresh_token, scope.meta).to_body())


@routes.post("/v1/auth/accept-invite", permission=PUBLIC, body=AcceptInviteIn, response=TokenPairView, errors=(401,))
def accept_invite(scope):
    body = scope.body()
    return json_response(identity.accept_invite(body.invite_token, body.password, scope.meta).to_body())


@routes.post("/v1/auth/logout", permission="session.use", response=LoggedOutView)
def logout(scope):
    identity.logout(scope.caller, scope.meta)
    return json_response({"logged_out": True})


@routes.get("/v1/auth/me", permission="session.use", response=MeView, errors=(404,))
def me(scope):
    return json_response(identity.me(scope.caller))
