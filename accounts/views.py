"""
The sign-in pages: step 1 asks for the username and Continue, step 2 for the password. The
username travels between the steps in the session, never in the URL. An active account of an
organization with single sign-on goes from step 1 to its identity provider instead (accounts.sso);
the password step stays open to admins, so a broken identity provider cannot lock them out.

SCIM allows the same userName in several organizations: when the password matches accounts of
more than one, step 3 lets the person choose among those (and only those) organizations. An
organization hint (`?org=<slug>`, which the OAuth authorization page passes for its client's
organization) picks that organization's account when the password matches it.
"""

import time

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.forms import PasswordForm, UsernameForm
from accounts.landing import after_signin_url
from accounts.models import Organization, WorkAccount
from accounts.selectors import account_profile
from accounts.services.signin import signin_with_password
from accounts.sso.services import (
    sso_configuration_for_username,
    sso_password_refused,
    sso_password_refused_for,
)
from config.proxies import client_address


SESSION_USERNAME = "signin_username"
SESSION_ORGANIZATION = "signin_organization"
# The accounts the password matched in several organizations, until the person chooses one.
SESSION_CHOICES = "signin_choices"
CHOICE_LIFETIME_SECONDS = 5 * 60
REDIRECT_FIELD = "next"
ORGANIZATION_FIELD = "org"
CHOOSE_ONE = "Choose one of the organizations listed."


def _next_url(request) -> str:
    """Where to go after signing in: `next` when it stays on this site, else the portal."""
    candidate = request.POST.get(REDIRECT_FIELD) or request.GET.get(REDIRECT_FIELD) or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({REDIRECT_FIELD: next_url})}"


def _organization_hint(slug: str) -> Organization | None:
    """The organization a sign-in is for (?org=<slug>); an unknown slug is no hint."""
    return Organization.objects.filter(slug=slug).first() if slug and len(slug) <= 50 else None


def _session_hint(request) -> Organization | None:
    return _organization_hint(request.session.get(SESSION_ORGANIZATION, ""))


def _client_address(request) -> str:
    # The real client behind TRUSTED_PROXIES (forwarded headers from anyone else are ignored).
    return client_address(request)


# Continue may lead on, through redirects, to the organization's identity provider (any https
# sign-on URL): Chromium applies form-action to a form's redirects too.
@csp_update({"form-action": ["https:"]})
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signin_username(request):
    next_url = _next_url(request)
    hint = _organization_hint(
        (request.POST if request.method == "POST" else request.GET).get(ORGANIZATION_FIELD, "")
    )
    if request.method == "GET" and request.user.is_authenticated and not request.user.is_staff:
        # A signed-in member sent here by the admin portal (which members may not open).
        return redirect(after_signin_url(request.user, next_url))
    if request.method == "POST":
        form = UsernameForm(request.POST)
        if form.is_valid():
            username = form.cleaned_data["username"]
            request.session[SESSION_USERNAME] = username
            request.session[SESSION_ORGANIZATION] = hint.slug if hint else ""
            request.session.pop(SESSION_CHOICES, None)
            # "Use a password instead": the admins' way round a broken identity provider (the
            # password step still refuses members of organizations that require SSO).
            wants_password = request.POST.get("method") == "password"
            sso = None if wants_password else sso_configuration_for_username(username, organization=hint)
            if sso is not None:
                sso_login = reverse("sso-login", args=[sso.organization.slug])
                return redirect(f"{sso_login}?{urlencode({REDIRECT_FIELD: next_url})}")
            return redirect(_with_next("signin-password", next_url))
    else:
        form = UsernameForm(initial={"username": request.session.get(SESSION_USERNAME, "")})
    context = {"form": form, "next": next_url, "organization": hint}
    return render(request, "accounts/signin_username.html", context)


@never_cache
@csrf_protect
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signin_password(request):
    next_url = _next_url(request)
    username = request.session.get(SESSION_USERNAME)
    if not username:
        return redirect(_with_next("signin", next_url))
    hint = _session_hint(request)
    sso = sso_password_refused(username, organization=hint)
    if sso is not None:
        return _sso_required(request, sso, username, next_url)
    if request.method == "POST":
        form = PasswordForm(request.POST)
        if form.is_valid():
            result = signin_with_password(
                request=request,
                username=username,
                password=form.cleaned_data["password"],
                client_address=_client_address(request),
                preferred_organization=hint,
            )
            if result.account is not None:
                return _signed_in(request, result.account, username, next_url)
            if result.accounts:
                request.session[SESSION_CHOICES] = {
                    "username": username,
                    "accounts": [str(account.pk) for account in result.accounts],
                    "at": time.time(),
                }
                return redirect(_with_next("signin-organization", next_url))
            form.add_error(None, result.error)
    else:
        form = PasswordForm()
    context = {"form": form, "next": next_url, "username": username, "organization": hint}
    return render(request, "accounts/signin_password.html", context)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signin_organization(request):
    """Step 3: the password matched accounts of several organizations; the person picks one."""
    next_url = _next_url(request)
    username, accounts = _pending_choices(request)
    if not accounts:
        return redirect(_with_next("signin", next_url))
    error = None
    if request.method == "POST":
        chosen = next((a for a in accounts if str(a.pk) == request.POST.get("account")), None)
        if chosen is not None:
            return _signed_in(request, chosen, username, next_url)
        error = CHOOSE_ONE
    context = {"accounts": accounts, "username": username, "next": next_url, "error": error}
    return render(request, "accounts/signin_organization.html", context, status=400 if error else 200)


def _pending_choices(request) -> tuple[str, list[WorkAccount]]:
    """The accounts the password matched, if that was recently and they still may sign in."""
    choices = request.session.get(SESSION_CHOICES) or {}
    fresh = time.time() - choices.get("at", 0) < CHOICE_LIFETIME_SECONDS
    username = choices.get("username", "")
    if not fresh or not username or username != request.session.get(SESSION_USERNAME):
        return "", []
    accounts = (
        WorkAccount.objects.filter(
            pk__in=choices.get("accounts", []), deleted_at__isnull=True, is_active=True
        )
        .select_related("organization")
        .order_by("organization__name", "pk")
    )
    return username, list(accounts)


def _signed_in(request, account: WorkAccount, username: str, next_url: str):
    """Log the account in, unless its organization requires single sign-on of it."""
    sso = sso_password_refused_for(account)
    if sso is not None:
        return _sso_required(request, sso, username, next_url)
    login(request, account)  # rotates the session key (fixation); the choices go with it
    request.session.pop(SESSION_CHOICES, None)
    return redirect(after_signin_url(account, next_url))


def _sso_required(request, sso, username: str, next_url: str):
    context = {"organization": sso.organization, "next": next_url, "username": username}
    status = 403 if request.method == "POST" else 200
    return render(request, "accounts/sso_required.html", context, status=status)


@require_POST
@csrf_protect
def signout(request):
    logout(request)
    return redirect("signed-out")


@require_safe
def signed_out(request):
    return render(request, "accounts/signed_out.html")


@require_safe
def home(request):
    """The site's root ("View site"): the portal, a member's own page, or the sign-in page."""
    user = request.user
    if not user.is_authenticated:
        return redirect("signin")
    return redirect("admin:index" if user.is_staff else "my-account")


@never_cache
@login_required
@require_safe
def my_account(request):
    """A provisioned employee's own page: who they are, their organization, who manages the account."""
    context = {"account": request.user, "profile": account_profile(account=request.user)}
    return render(request, "accounts/my_account.html", context)
