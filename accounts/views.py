"""
The sign-in pages: step 1 asks for the username and Continue, step 2 for the password. The
username travels between the steps in the session, never in the URL. An active account of an
organization with single sign-on goes from step 1 to its identity provider instead (accounts.sso);
the password step stays open to admins, so a broken identity provider cannot lock them out.
"""

from django.conf import settings
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import PasswordForm, UsernameForm
from accounts.services.signin import signin_with_password
from accounts.sso.services import sso_configuration_for_username, sso_password_refused


SESSION_USERNAME = "signin_username"
REDIRECT_FIELD = "next"


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


def _client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signin_username(request):
    next_url = _next_url(request)
    if request.method == "POST":
        form = UsernameForm(request.POST)
        if form.is_valid():
            username = form.cleaned_data["username"]
            request.session[SESSION_USERNAME] = username
            # "Use a password instead": the admins' way round a broken identity provider (the
            # password step still refuses members of organizations that require SSO).
            wants_password = request.POST.get("method") == "password"
            sso = None if wants_password else sso_configuration_for_username(username)
            if sso is not None:
                sso_login = reverse("sso-login", args=[sso.organization.slug])
                return redirect(f"{sso_login}?{urlencode({REDIRECT_FIELD: next_url})}")
            return redirect(_with_next("signin-password", next_url))
    else:
        form = UsernameForm(initial={"username": request.session.get(SESSION_USERNAME, "")})
    return render(request, "accounts/signin_username.html", {"form": form, "next": next_url})


@never_cache
@csrf_protect
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signin_password(request):
    next_url = _next_url(request)
    username = request.session.get(SESSION_USERNAME)
    if not username:
        return redirect(_with_next("signin", next_url))
    sso = sso_password_refused(username)
    if sso is not None:
        context = {"organization": sso.organization, "next": next_url, "username": username}
        status = 403 if request.method == "POST" else 200
        return render(request, "accounts/sso_required.html", context, status=status)
    if request.method == "POST":
        form = PasswordForm(request.POST)
        if form.is_valid():
            result = signin_with_password(
                request=request,
                username=username,
                password=form.cleaned_data["password"],
                client_address=_client_address(request),
            )
            if result.account is not None:
                login(request, result.account)  # rotates the session key (fixation)
                return redirect(next_url)
            form.add_error(None, result.error)
    else:
        form = PasswordForm()
    context = {"form": form, "next": next_url, "username": username}
    return render(request, "accounts/signin_password.html", context)


@require_POST
@csrf_protect
def signout(request):
    next_url = _next_url(request)
    logout(request)
    return redirect(_with_next("signin", next_url))
