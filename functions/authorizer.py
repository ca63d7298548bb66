"""The custom authorizer: authenticates every protected request (JWT access token or API key) and hands the
caller (tenant, principal, role, session) to the route as the authorizer context."""

from chalice import AuthResponse, Blueprint

from maestro.domain.errors import Unauthenticated
from maestro.http.authorizer import HeaderAuthorizer, deny_policy
from maestro.observability import logger
from maestro.services import identity
from maestro.services.context import RequestMeta

authorizer_api = Blueprint(__name__)


@authorizer_api.authorizer(ttl_seconds=0, name="maestro_authorizer")
def maestro_authorizer(auth_request):
    meta = RequestMeta(
        source_ip=getattr(auth_request, "source_ip", None), user_agent=getattr(auth_request, "user_agent", None)
    )
    try:
        caller = identity.authenticate(auth_request.token, getattr(auth_request, "api_key", None), meta)
    except Unauthenticated as error:
        logger.info("request denied", extra={"reason": error.detail})
        return deny_policy(auth_request.method_arn, error.detail)
    return AuthResponse(routes=["*"], principal_id=caller.actor, context=caller.to_context())


# Read both Authorization and X-Api-Key (see HeaderAuthorizer).
maestro_authorizer.__class__ = HeaderAuthorizer
