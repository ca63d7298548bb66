"""Session tokens per RFC 8725: one pinned algorithm, typed tokens, rotating keys, and every known forgery refused."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from maestro.domain.errors import Unauthenticated
from maestro.domain.identity.tokens import InvalidToken, SigningKeyRing, TokenService

K1_SECRET = "k1-" + "a" * 40
K2_SECRET = "k2-" + "b" * 40
ISSUER = "https://auth.maestro.example"
AUDIENCE = "maestro-api"
T0 = 1_750_000_000


class FakeClock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url_json(segment: str):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def craft(header, payload, secret=K1_SECRET, digest=hashlib.sha256):
    """A token built by hand, as an attacker would; `digest=None` leaves the signature empty."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = "" if digest is None else b64url(hmac.new(secret.encode(), signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def ring(active="k1", **secrets):
    secrets = secrets or {"k1": K1_SECRET}
    return SigningKeyRing(active_kid=active, keys={kid: value.encode() for kid, value in secrets.items()})


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(clock):
    return TokenService(ring(), issuer=ISSUER, audience=AUDIENCE, clock=clock)


def access_claims(**changes):
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-1",
        "tid": "t-1",
        "sid": "s-1",
        "role": "viewer",
        "jti": "0" * 32,
        "iat": T0,
        "nbf": T0,
        "exp": T0 + 900,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


ACCESS_HEADER = {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}


def refused(verify, token, reason):
    with pytest.raises(InvalidToken) as caught:
        verify(token)
    assert caught.value.detail == reason
    for secret in (token, K1_SECRET, K2_SECRET):
        if isinstance(secret, str) and secret:
            assert secret not in str(caught.value)
    return caught.value


# --- what a good token says ----------------------------------------------------------------------------------


def test_access_token_round_trips(service):
    issued = service.issue_access("t-1", "u-1", "editor", "s-1")
    claims = service.verify_access(issued.token)
    assert (claims.tenant_id, claims.user_id, claims.role, claims.session_id) == ("t-1", "u-1", "editor", "s-1")
    assert claims.jti == issued.jti and claims.expires_at == issued.expires_at == T0 + 900


def test_access_token_lives_fifteen_minutes(service):
    assert service.issue_access("t-1", "u-1", "viewer", "s-1").expires_in == 900


def test_access_token_header_names_the_algorithm_type_and_key(service):
    header = jwt.get_unverified_header(service.issue_access("t-1", "u-1", "viewer", "s-1").token)
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}


def test_access_token_carries_the_registered_claims(service):
    token = service.issue_access("t-1", "u-1", "viewer", "s-1").token
    payload = unb64url_json(token.split(".")[1])
    assert payload == access_claims(jti=payload["jti"], role="viewer")


def test_refresh_token_round_trips_with_a_chosen_jti(service):
    issued = service.issue_refresh("t-1", "u-1", "s-1", jti="family-1-gen-3")
    claims = service.verify_refresh(issued.token)
    assert (claims.tenant_id, claims.user_id, claims.session_id, claims.jti) == ("t-1", "u-1", "s-1", "family-1-gen-3")
    assert issued.expires_in == 30 * 24 * 3600 and claims.expires_at == T0 + 30 * 24 * 3600
    assert jwt.get_unverified_header(issued.token)["typ"] == "rt+jwt"
    assert "role" not in unb64url_json(issued.token.split(".")[1])


def test_refresh_lifetime_is_configurable(clock):
    short = TokenService(ring(), issuer=ISSUER, audience=AUDIENCE, refresh_ttl_seconds=3600, clock=clock)
    assert short.issue_refresh("t-1", "u-1", "s-1").expires_in == 3600


def test_each_token_gets_a_fresh_uuid4_hex_jti(service):
    first, second = (service.issue_access("t-1", "u-1", "viewer", "s-1").jti for _ in range(2))
    assert first != second and len(first) == 32 and int(first, 16) >= 0


def test_invalid_token_is_an_authentication_failure():
    assert issubclass(InvalidToken, Unauthenticated)


# --- time ----------------------------------------------------------------------------------------------------


def test_access_token_is_valid_until_its_last_second(service, clock):
    token = service.issue_access("t-1", "u-1", "viewer", "s-1").token
    clock.advance(899)
    assert service.verify_access(token).user_id == "u-1"


def test_expired_access_token_is_refused(service, clock):
    token = service.issue_access("t-1", "u-1", "viewer", "s-1").token
    clock.advance(900)
    refused(service.verify_access, token, "token expired")


def test_expired_refresh_token_is_refused(service, clock):
    token = service.issue_refresh("t-1", "u-1", "s-1").token
    clock.advance(30 * 24 * 3600)
    refused(service.verify_refresh, token, "token expired")


def test_leeway_tolerates_small_clock_skew(clock):
    lenient = TokenService(ring(), issuer=ISSUER, audience=AUDIENCE, clock=clock, leeway_seconds=30)
    token = lenient.issue_access("t-1", "u-1", "viewer", "s-1").token
    clock.advance(929)
    assert lenient.verify_access(token).user_id == "u-1"
    clock.advance(1)
    refused(lenient.verify_access, token, "token expired")


def test_token_not_yet_valid_is_refused(service):
    token = craft(ACCESS_HEADER, access_claims(nbf=T0 + 60))
    refused(service.verify_access, token, "token not yet valid")


def test_token_issued_in_the_future_is_refused(service):
    token = craft(ACCESS_HEADER, access_claims(iat=T0 + 60))
    refused(service.verify_access, token, "token issued in the future")


def test_non_numeric_expiry_is_refused(service):
    refused(service.verify_access, craft(ACCESS_HEADER, access_claims(exp="never")), "malformed token")


# --- algorithm confusion -------------------------------------------------------------------------------------


def test_alg_none_with_empty_signature_is_refused(service):
    token = craft({"alg": "none", "typ": "at+jwt", "kid": "k1"}, access_claims(role="admin"), digest=None)
    assert token.endswith(".")
    refused(service.verify_access, token, "unsupported algorithm")


@pytest.mark.parametrize("alg", ["None", "NONE", "hs256", "HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", ""])
def test_any_algorithm_but_hs256_is_refused(service, alg):
    # Signed with the real secret, so only the algorithm pin stands between this token and acceptance.
    token = craft({"alg": alg, "typ": "at+jwt", "kid": "k1"}, access_claims())
    refused(service.verify_access, token, "unsupported algorithm")


def test_hs512_signed_with_the_same_secret_is_refused(service):
    token = craft({"alg": "HS512", "typ": "at+jwt", "kid": "k1"}, access_claims(), digest=hashlib.sha512)
    refused(service.verify_access, token, "unsupported algorithm")


def test_missing_algorithm_is_refused(service):
    refused(service.verify_access, craft({"typ": "at+jwt", "kid": "k1"}, access_claims()), "unsupported algorithm")


# --- keys and signatures -------------------------------------------------------------------------------------


def test_token_signed_with_another_secret_under_our_kid_is_refused(service):
    token = craft(ACCESS_HEADER, access_claims(), secret="attacker-" + "z" * 40)
    refused(service.verify_access, token, "bad signature")


def test_unknown_kid_is_refused(service):
    token = craft({**ACCESS_HEADER, "kid": "k9"}, access_claims())
    refused(service.verify_access, token, "unknown signing key")


@pytest.mark.parametrize("kid", [None, ""])
def test_missing_kid_is_refused(service, kid):
    header = {"alg": "HS256", "typ": "at+jwt"} if kid is None else {**ACCESS_HEADER, "kid": kid}
    refused(service.verify_access, craft(header, access_claims()), "unknown signing key")


@pytest.mark.parametrize("kid", [1, ["k1"], {"k1": 1}])
def test_non_string_kid_is_refused(service, kid):
    refused(service.verify_access, craft({**ACCESS_HEADER, "kid": kid}, access_claims()), "malformed token")


def test_payload_tampered_to_admin_keeps_its_signature_and_is_refused(service):
    header, payload, signature = service.issue_access("t-1", "u-1", "viewer", "s-1").token.split(".")
    claims = unb64url_json(payload)
    claims["role"] = "admin"
    refused(service.verify_access, f"{header}.{b64url_json(claims)}.{signature}", "bad signature")


def test_critical_header_extensions_are_refused(service):
    token = craft({**ACCESS_HEADER, "crit": ["b64"], "b64": False}, access_claims())
    refused(service.verify_access, token, "malformed token")


# --- audience, issuer, type, claims --------------------------------------------------------------------------


def test_token_for_another_audience_is_refused(service, clock):
    other = TokenService(ring(), issuer=ISSUER, audience="billing-api", clock=clock)
    refused(service.verify_access, other.issue_access("t-1", "u-1", "viewer", "s-1").token, "wrong audience")


def test_audience_list_containing_ours_is_refused(service):
    refused(service.verify_access, craft(ACCESS_HEADER, access_claims(aud=[AUDIENCE, "x"])), "wrong audience")


@pytest.mark.parametrize("issuer", ["https://evil.example", "https://auth.maestro", ISSUER + "/"])
def test_token_from_another_issuer_is_refused(service, clock, issuer):
    other = TokenService(ring(), issuer=issuer, audience=AUDIENCE, clock=clock)
    refused(service.verify_access, other.issue_access("t-1", "u-1", "viewer", "s-1").token, "wrong issuer")


def test_refresh_token_presented_as_access_token_is_refused(service):
    refused(service.verify_access, service.issue_refresh("t-1", "u-1", "s-1").token, "wrong token type")


def test_access_token_presented_as_refresh_token_is_refused(service):
    refused(service.verify_refresh, service.issue_access("t-1", "u-1", "viewer", "s-1").token, "wrong token type")


@pytest.mark.parametrize("typ", [None, "JWT", "AT+JWT", "application/at+jwt"])
def test_untyped_or_generic_token_is_refused(service, typ):
    header = {"alg": "HS256", "kid": "k1"} if typ is None else {**ACCESS_HEADER, "typ": typ}
    refused(service.verify_access, craft(header, access_claims()), "wrong token type")


@pytest.mark.parametrize("claim", ["jti", "exp", "nbf", "iat", "iss", "aud", "sub", "tid", "sid", "role"])
def test_access_token_missing_a_required_claim_is_refused(service, claim):
    token = craft(ACCESS_HEADER, access_claims(**{claim: None}))
    refused(service.verify_access, token, f"missing required claim: {claim}")


@pytest.mark.parametrize("claim", ["sub", "tid", "sid", "role"])
def test_empty_or_non_string_identity_claim_is_refused(service, claim):
    refused(service.verify_access, craft(ACCESS_HEADER, access_claims(**{claim: ""})), "malformed token")
    refused(service.verify_access, craft(ACCESS_HEADER, access_claims(**{claim: 7})), "malformed token")


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30", "x" * 9000])
def test_malformed_token_is_refused(service, token):
    refused(service.verify_access, token, "malformed token")


def test_non_string_token_is_refused(service):
    refused(service.verify_access, None, "malformed token")


# --- key ring and rotation -----------------------------------------------------------------------------------


def test_key_ring_reads_the_secrets_manager_json():
    keyring = SigningKeyRing.from_secret(
        {
            "active_kid": "k2",
            "local_only": True,
            "keys": [{"kid": "k1", "secret": K1_SECRET}, {"kid": "k2", "secret": K2_SECRET}],
        }
    )
    assert keyring.active_kid == "k2"
    assert keyring.keys == {"k1": K1_SECRET.encode(), "k2": K2_SECRET.encode()}


@pytest.mark.parametrize(
    "value",
    [
        {"active_kid": "k3", "keys": [{"kid": "k1", "secret": K1_SECRET}]},
        {"active_kid": "k1", "keys": [{"kid": "k1", "secret": "s" * 31}]},
        {"active_kid": "k1", "keys": [{"kid": "k1", "secret": K1_SECRET}, {"kid": "k1", "secret": K2_SECRET}]},
        {"active_kid": "k1", "keys": []},
        {"active_kid": "k1", "keys": [{"kid": "k1"}]},
        {"keys": [{"kid": "k1", "secret": K1_SECRET}]},
    ],
)
def test_bad_key_ring_is_refused_without_quoting_a_secret(value):
    with pytest.raises(ValueError) as caught:
        SigningKeyRing.from_secret(value)
    assert K1_SECRET not in str(caught.value) and "s" * 31 not in str(caught.value)


def test_token_signed_before_rotation_verifies_while_its_key_remains(clock):
    before = TokenService(ring("k1", k1=K1_SECRET), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    old_token = before.issue_access("t-1", "u-1", "viewer", "s-1").token
    after = TokenService(ring("k2", k1=K1_SECRET, k2=K2_SECRET), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    assert after.verify_access(old_token).user_id == "u-1"
    new_token = after.issue_access("t-1", "u-1", "viewer", "s-1").token
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    assert after.verify_access(new_token).user_id == "u-1"


def test_token_signed_with_a_retired_key_is_refused(clock):
    before = TokenService(ring("k1", k1=K1_SECRET), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    old_token = before.issue_access("t-1", "u-1", "viewer", "s-1").token
    retired = TokenService(ring("k2", k2=K2_SECRET), issuer=ISSUER, audience=AUDIENCE, clock=clock)
    refused(retired.verify_access, old_token, "unknown signing key")
