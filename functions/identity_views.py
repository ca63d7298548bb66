"""Response models of the identity routes (auth, users, API keys): what maestro.services.identity renders."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from maestro.http.schemas import ResponseModel

RoleName = Literal["admin", "developer", "viewer"]


class UserView(ResponseModel):
    id: str
    tenant_id: str
    email: str
    name: str
    role: RoleName
    active: bool
    invited: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ApiKeyView(ResponseModel):
    id: str
    name: str
    role: RoleName
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    prefix: str = Field(description="how the key starts (mml_<id>_), to recognise it")
    owner: str = Field(
        description="`user:<id>`: the key works only while that user is active (deactivating or deleting the user"
        " stops it); `tenant`: a key of the tenant itself (made before keys had owners, by a key without one)"
    )
