"""
The single sign-on endpoints of one organization: the SP-initiated start, the Assertion Consumer
Service and our metadata. Thin: parse, call accounts.sso, render. Every refusal is a page with the
reason in plain words (accounts/sso_refused.html), never a stack trace.
"""

import logging
import time

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.landing import after_signin_url
from accounts.sso import refusals
from accounts.sso.locations import portal_base
from accounts.sso.metadata import sp_metadata_xml
from accounts.sso.refusals import SsoRefused
from accounts.sso.saml import ServiceProvider, authn_request_redirect, response_outline, response_verify
from accounts.sso.services import sso_assertion_consume, sso_configuration_get


logger = logging.getLogger(__name__)

REDIRECT_FIELD = "next"
# Our outstanding AuthnRequests: id → organization, next URL, when sent.
SESSION_REQUESTS = "sso_requests"
REQUEST_LIFETIME_SECONDS = 15 * 60
MAX_OUTSTANDING_REQUESTS = 5
# Marks the second, same-site POST of a response to the ACS (see sso_acs).
CONTINUED_FIELD = "continued"


def _safe_next(request, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _default_next() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _refused(request, refusal: SsoRefused, next_url: str | None = None):
    next_url = next_url or _default_next()
    context = {
        "code": refusal.reason.code,
        "title": refusal.title,
        "message": refusal.message,
        "signin_url": f"{reverse('signin')}?{urlencode({REDIRECT_FIELD: next_url})}",
        "password_url": f"{reverse('signin-password')}?{urlencode({REDIRECT_FIELD: next_url})}",
    }
    return render(request, "accounts/sso_refused.html", context, status=refusal.status)


def _enabled_configuration(slug: str):
    configuration = sso_configuration_get(slug=slug)
    if configuration is None or not configuration.enabled:
        raise SsoRefused(refusals.NOT_AVAILABLE)
    return configuration


def _pending_requests(session) -> dict:
    now = time.time()
    pending = session.get(SESSION_REQUESTS) or {}
    return {
        request_id: entry
        for request_id, entry in pending.items()
        if isinstance(entry, dict) and now - entry.get("sent", 0) < REQUEST_LIFETIME_SECONDS
    }


def _remember_request(session, *, request_id: str, organization_id: int, next_url: str) -> None:
    pending = _pending_requests(session)
    pending[request_id] = {"organization": organization_id, "next": next_url, "sent": time.time()}
    newest = sorted(pending.items(), key=lambda item: item[1]["sent"])[-MAX_OUTSTANDING_REQUESTS:]
    session[SESSION_REQUESTS] = dict(newest)


def _answered_request(request, configuration, in_response_to: frozenset[str]) -> dict | None:
    """
    The request this response answers, taken from the session (each is answered once); None
    for an IdP-initiated response, which answers none. A response naming a request this browser
    did not send, or sent to another organization, is refused.
    """
    if not in_response_to:
        return None
    pending = _pending_requests(request.session)
    entry = pending.pop(next(iter(in_response_to)), None) if len(in_response_to) == 1 else None
    request.session[SESSION_REQUESTS] = pending
    if entry is None or entry["organization"] != configuration.organization_id:
        raise SsoRefused(refusals.UNSOLICITED)
    return entry


@never_cache
@require_GET
def sso_login(request, slug):
    """SP-initiated sign-in: an AuthnRequest to the organization's IdP, `next` in RelayState."""
    next_url = _safe_next(request, request.GET.get(REDIRECT_FIELD)) or _default_next()
    try:
        configuration = _enabled_configuration(slug)
    except SsoRefused as refusal:
        return _refused(request, refusal, next_url)
    provider = ServiceProvider.at(configuration, portal_base(request))
    try:
        request_id, location = authn_request_redirect(provider, relay_state=next_url)
    except Exception:
        logger.exception("Cannot start single sign-on of %s", slug)
        refusal = SsoRefused(refusals.MISCONFIGURED, organization=configuration.organization.name)
        return _refused(request, refusal, next_url)
    _remember_request(
        request.session,
        request_id=request_id,
        organization_id=configuration.organization_id,
        next_url=next_url,
    )
    return HttpResponseRedirect(location)


@csrf_exempt  # the IdP posts here from its own site; the signed response is what is checked
@never_cache
@require_http_methods(["GET", "POST"])
def sso_acs(request, slug):
    """The Assertion Consumer Service (HTTP-POST binding) of one organization."""
    relay_state = request.POST.get("RelayState", "")
    try:
        configuration = _enabled_configuration(slug)
        provider = ServiceProvider.at(configuration, portal_base(request))
        saml_response = request.POST.get("SAMLResponse", "")
        if not saml_response:
            raise SsoRefused(refusals.MISSING, organization=configuration.organization.name)
        outline = response_outline(saml_response)
        if (
            outline.in_response_to
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and request.POST.get(CONTINUED_FIELD) != "1"
        ):
            # The IdP's cross-site POST carries no SameSite=Lax session cookie, and the session
            # holds the request this response answers: post it once more from our own page.
            fields = {"SAMLResponse": saml_response, "RelayState": relay_state, CONTINUED_FIELD: "1"}
            return render(request, "accounts/sso_continue.html", {"action": request.path, "fields": fields})
        assertion = response_verify(provider, saml_response)
        answered = _answered_request(request, configuration, assertion.in_response_to)
        account = sso_assertion_consume(provider=provider, assertion=assertion)
    except SsoRefused as refusal:
        return _refused(request, refusal, _safe_next(request, relay_state))
    if answered is not None:
        next_url = answered["next"]
    else:
        next_url = _safe_next(request, relay_state) or _default_next()
    login(request, account, backend=settings.AUTHENTICATION_BACKENDS[0])  # rotates the session key
    return redirect(after_signin_url(account, next_url))


@require_GET
def sso_metadata(request, slug):
    """Our SP metadata; its URL is our entity id. `?download` serves it as a file for Entra."""
    configuration = sso_configuration_get(slug=slug)
    if configuration is None:
        return _refused(request, SsoRefused(refusals.NOT_AVAILABLE))
    provider = ServiceProvider.at(configuration, portal_base(request))
    xml = sp_metadata_xml(
        entity_id=provider.entity_id,
        acs_url=provider.acs_url,
        certificate_pem=configuration.sp_certificate,
        authn_requests_signed=configuration.want_signed_authn_request,
    )
    response = HttpResponse(xml, content_type="application/samlmetadata+xml; charset=utf-8")
    if "download" in request.GET:
        filename = f"{configuration.organization.slug}-meta-work-accounts-metadata.xml"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
