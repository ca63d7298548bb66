"""Who is calling: the authenticated principal the authorizer hands to every protected route."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    principal_type: str  # "user" | "key"
    principal_id: str
    role: str
    session_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.principal_type}:{self.principal_id}"

    def to_context(self) -> dict[str, str]:
        """The authorizer context (API Gateway allows only flat string/number/boolean values)."""
        return {
            "tenant_id": self.tenant_id,
            "principal_type": self.principal_type,
            "principal_id": self.principal_id,
            "role": self.role,
            "session_id": self.session_id or "",
        }

    @classmethod
    def from_context(cls, context: dict) -> Caller:
        return cls(
            context["tenant_id"],
            context["principal_type"],
            context["principal_id"],
            context["role"],
            context.get("session_id") or None,
        )
