"""
The token endpoint's checks of a client assertion (RFC 7521 §4.2, RFC 7523 §3), in order. Each
refusal names the check that failed; the endpoint answers every one with invalid_client
(RFC 6749 §5.2) and logs the reason. PyJWT verifies the signature and `aud`; the time checks are
ours, so each says which claim was wrong.
"""

import hashlib
import json
import logging
import time
from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.exceptions import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidKeyError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from accounts.connections.federation.keys import KeysUnavailable, SigningKey, credential_keys
from accounts.connections.federation.models import FederatedCredential, UsedAssertion
from accounts.connections.services import LAST_USED_RESOLUTION


logger = logging.getLogger(__name__)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "ES256")  # asymmetric only: never "none", never HS* (RFC 8725 §3.1)
MAX_ASSERTION_BYTES = 16 * 1024

# RFC 6749 §2.3: one client authentication method per request.
ONE_METHOD_ONLY = "the request uses a client assertion and another client authentication method"
DUPLICATED = "client_assertion or client_assertion_type is sent more than once"
GRANT_ONLY = "client assertions are accepted with the client_credentials grant only"
WRONG_TYPE = f"client_assertion_type is not {JWT_BEARER}"
MALFORMED = "client_assertion is not a signed JWT"
TOO_LARGE = f"client_assertion is larger than {MAX_ASSERTION_BYTES} bytes"
ALGORITHM = "signing algorithm {alg} is not allowed (RS256 or ES256 only)"
NO_ISSUER_OR_SUBJECT = "the assertion has no iss or sub claim"
UNKNOWN_ISSUER = "no federated credential trusts the issuer {iss}"
UNKNOWN_SUBJECT = "no federated credential of the issuer {iss} trusts the subject {sub}"
CLIENT_MISMATCH = (
    "client_id {client_id} is not the client of the connection that trusts this issuer and subject"
)
AMBIGUOUS = "several connections trust this issuer and subject: the client must send its client_id"
NO_CLIENT = "the connection of this credential has no OAuth client"
KEYS_UNAVAILABLE = "signing keys unavailable"
UNKNOWN_KID = "unknown signing key: the issuer's keys have no kid {kid}"
NO_KID = "the assertion has no kid and the issuer has several signing keys"
KEY_MISMATCH = "signing key {kid} is not a {alg} key"
SIGNATURE = "signature does not verify"
WEAK_KEY = "signing key {kid} is too short"
AUDIENCE = "aud does not contain {audience}"
ISSUER = "iss does not match {issuer}"
MISSING_CLAIM = "the assertion has no {claim} claim"
NOT_A_NUMBER = "{claim} is not a NumericDate"
EXPIRED = "the assertion expired (exp {exp}, now {now}, clock skew {skew} s)"
NOT_YET_VALID = "the assertion is not yet valid (nbf {nbf}, now {now}, clock skew {skew} s)"
ISSUED_IN_FUTURE = "the assertion is issued in the future (iat {iat}, now {now}, clock skew {skew} s)"
TOO_LONG = "the assertion's lifetime of {lifetime} s is longer than {limit} s"
REPLAYED = "jti {jti} was already used"
JTI_NOT_A_STRING = "jti is not a string"


class AssertionRefused(Exception):
    def __init__(self, reason: str, credential=None):
        super().__init__(reason)
        self.reason = reason
        self.credential = credential


def assertion_authenticate(
    *,
    assertion_type,
    assertion,
    client_id=None,
    grant_type="client_credentials",
    other_method=False,
    duplicated=False,
) -> FederatedCredential:
    """The credential a valid, unused assertion proves; AssertionRefused (and a log entry) if none."""
    try:
        if other_method:
            raise AssertionRefused(ONE_METHOD_ONLY)
        if duplicated:
            raise AssertionRefused(DUPLICATED)
        if grant_type != "client_credentials":
            raise AssertionRefused(GRANT_ONLY)
        credential = _verified(assertion_type, assertion, client_id)
    except AssertionRefused as refused:
        credential = refused.credential
        logger.warning(
            "Client assertion refused: %s",
            refused.reason,
            extra={
                "event": "client_assertion_refused",
                "reason": refused.reason,
                "federated_credential": credential.pk if credential else None,
                "connection": credential.connection_id if credential else None,
            },
        )
        raise
    _mark_used(credential)
    return credential


def _verified(assertion_type, assertion, client_id) -> FederatedCredential:
    if assertion_type != JWT_BEARER:
        raise AssertionRefused(WRONG_TYPE)
    if not isinstance(assertion, str) or not assertion:
        raise AssertionRefused(MALFORMED)
    if len(assertion) > MAX_ASSERTION_BYTES:
        raise AssertionRefused(TOO_LARGE)
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except PyJWTError:
        raise AssertionRefused(MALFORMED) from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AssertionRefused(ALGORITHM.format(alg=json.dumps(alg)[:50]))
    credential = _credential(unverified, client_id)
    key = _signing_key(credential, header.get("kid"), alg)
    claims = _decoded(credential, assertion, key, alg)
    _check_times(credential, claims)
    _record_jti(credential, claims)
    return credential


def _shown(value: str) -> str:
    """A client's value in a log line: shortened, control characters escaped (no forged lines)."""
    return value[:200].encode("unicode_escape").decode("ascii")


def _credential(unverified: dict, client_id) -> FederatedCredential:
    iss, sub = unverified.get("iss"), unverified.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str) or not iss or not sub:
        raise AssertionRefused(NO_ISSUER_OR_SUBJECT)
    of_issuer = FederatedCredential.objects.filter(issuer=iss)
    if not of_issuer.exists():
        raise AssertionRefused(UNKNOWN_ISSUER.format(iss=_shown(iss)))
    candidates = list(
        of_issuer.filter(subject=sub).select_related("connection__organization", "connection__application")
    )
    if not candidates:
        raise AssertionRefused(UNKNOWN_SUBJECT.format(iss=_shown(iss), sub=_shown(sub)))
    if client_id:
        candidates = [c for c in candidates if _client_id_of(c.connection) == client_id]
        if not candidates:
            raise AssertionRefused(CLIENT_MISMATCH.format(client_id=_shown(client_id)))
    if len(candidates) > 1:
        raise AssertionRefused(AMBIGUOUS)
    if candidates[0].connection.application is None:
        raise AssertionRefused(NO_CLIENT, candidates[0])
    return candidates[0]


def _client_id_of(connection) -> str | None:
    return connection.application.client_id if connection.application is not None else None


def _signing_key(credential, kid, alg) -> SigningKey:
    try:
        keys = credential_keys(credential, kid if isinstance(kid, str) else None)
    except KeysUnavailable as exc:
        logger.warning("Signing keys of federated credential %s unavailable: %s", credential.pk, exc)
        raise AssertionRefused(KEYS_UNAVAILABLE, credential) from None
    if kid is None:
        # RFC 7515 §4.1.4: kid is optional; without one, only a single key is unambiguous.
        if len(keys) != 1:
            raise AssertionRefused(NO_KID, credential)
        key = keys[0]
    else:
        key = next((key for key in keys if key.kid == kid), None)
        if key is None:
            raise AssertionRefused(UNKNOWN_KID.format(kid=json.dumps(kid)[:100]), credential)
    if not key.fits(alg):
        raise AssertionRefused(KEY_MISMATCH.format(kid=json.dumps(key.kid), alg=alg), credential)
    return key


def _decoded(credential, assertion, key: SigningKey, alg: str) -> dict:
    try:
        return jwt.decode(
            assertion,
            key=key.key,
            algorithms=[alg],  # the header's alg, already checked against the key's type
            audience=credential.audience,
            issuer=credential.issuer,
            subject=credential.subject,
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "enforce_minimum_key_length": True,
            },
        )
    except InvalidSignatureError:
        raise AssertionRefused(SIGNATURE, credential) from None
    except InvalidKeyError:
        raise AssertionRefused(WEAK_KEY.format(kid=json.dumps(key.kid)), credential) from None
    except MissingRequiredClaimError as exc:
        raise AssertionRefused(MISSING_CLAIM.format(claim=exc.claim), credential) from None
    except InvalidAudienceError:
        raise AssertionRefused(AUDIENCE.format(audience=credential.audience), credential) from None
    except InvalidIssuerError:
        raise AssertionRefused(ISSUER.format(issuer=credential.issuer), credential) from None
    except InvalidJTIError:
        raise AssertionRefused(JTI_NOT_A_STRING, credential) from None
    except PyJWTError:
        raise AssertionRefused(MALFORMED, credential) from None


def _numeric_date(credential, claims: dict, claim: str):
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionRefused(NOT_A_NUMBER.format(claim=claim), credential)
    return value


def _check_times(credential, claims: dict) -> None:
    """RFC 7519 §4.1.4–4.1.6 with a clock skew, and a bounded lifetime (RFC 7523 §3 items 4–6)."""
    now, skew = int(time.time()), settings.SCIM_ASSERTION_CLOCK_SKEW
    exp = _numeric_date(credential, claims, "exp")
    nbf = _numeric_date(credential, claims, "nbf")
    iat = _numeric_date(credential, claims, "iat")
    if exp <= now - skew:
        raise AssertionRefused(EXPIRED.format(exp=exp, now=now, skew=skew), credential)
    if nbf is not None and nbf > now + skew:
        raise AssertionRefused(NOT_YET_VALID.format(nbf=nbf, now=now, skew=skew), credential)
    if iat is not None and iat > now + skew:
        raise AssertionRefused(ISSUED_IN_FUTURE.format(iat=iat, now=now, skew=skew), credential)
    # Without iat, the assertion is as old as it could be: count from now.
    lifetime = int(exp - (iat if iat is not None else now))
    if lifetime > settings.SCIM_ASSERTION_MAX_LIFETIME:
        raise AssertionRefused(
            TOO_LONG.format(lifetime=lifetime, limit=settings.SCIM_ASSERTION_MAX_LIFETIME), credential
        )


def _record_jti(credential, claims: dict) -> None:
    """Used once (RFC 7523 §3 item 7): the jti is kept until exp (plus skew), per issuer."""
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise AssertionRefused(JTI_NOT_A_STRING, credential)
    digest = hashlib.sha256(f"{credential.issuer}\x00{jti}".encode()).hexdigest()
    now = timezone.now()
    expires_at = datetime.fromtimestamp(claims["exp"] + settings.SCIM_ASSERTION_CLOCK_SKEW, tz=UTC)
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(digest=digest, expires_at=expires_at)
    except IntegrityError:
        raise AssertionRefused(REPLAYED.format(jti=json.dumps(jti)[:100]), credential) from None
    # Expired ids can go: an assertion that old is refused by its exp anyway.
    UsedAssertion.objects.filter(expires_at__lt=now).delete()


def _mark_used(credential) -> None:
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_RESOLUTION:
        FederatedCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        credential.last_used_at = now
