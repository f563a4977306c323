"""
Provisioning connections in the admin portal: organization admins connect Microsoft Entra ID (a
connection with its own OAuth client, client secret shown once), issue and revoke the secret
tokens Entra uses ("Secret Token"), each shown once; support staff only read.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_http_methods, require_POST
from oauth2_provider.models import get_access_token_model

from accounts.admin import OrganizationScopedAdmin
from accounts.connections.confirm import confirmation_page, confirmed
from accounts.connections.credentials import (
    MAX_LIVE_CREDENTIALS,
    client_secret_create,
    client_secret_revoke,
    ended_tokens_sentence,
    expiry_on,
    live,
)
from accounts.connections.federation.admin import FederatedCredentialsAdminMixin
from accounts.connections.forms import ConnectEntraForm, CredentialExpiryForm
from accounts.connections.locations import entra_connection_settings, scim_base_url
from accounts.connections.models import ProvisioningConnection
from accounts.connections.profiles import ClientProfile
from accounts.connections.services import (
    connection_client_profile_set,
    entra_client_create,
    scim_token_create,
    scim_token_revoke,
)
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction, OrganizationRole
from accounts.services.activity import admin_activity_for, admin_activity_record
from accounts.sso.locations import portal_base


def may_manage(request) -> bool:
    user = request.user
    return user.is_active and (user.is_superuser or user.role == OrganizationRole.ADMIN)


def client_detection(connection) -> str:
    """What the connection page says was detected, in words."""
    if not connection.detected_client_profile:
        return (
            "Nothing detected yet: no request with a User-Agent has arrived. Until one does, "
            "requests are answered as Microsoft Entra ID expects."
        )
    detected = ClientProfile(connection.detected_client_profile).label.split(":")[0]
    return (
        f"{detected}, from the User-Agent “{connection.detected_user_agent}” of the first request "
        f"({connection.detected_at:%Y-%m-%d %H:%M} UTC)."
    )


@admin.register(ProvisioningConnection)
class ProvisioningConnectionAdmin(FederatedCredentialsAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "organization", "enabled", "active_tokens", "last_used", "created_at")
    readonly_fields = ("organization", "name", "last_used", "created_at")
    # The credentials (tokens, OAuth client) have a section of their own below the form.
    fieldsets = ((None, {"fields": ("organization", "name", "enabled", "last_used", "created_at")}),)
    change_form_template = "admin/accounts/provisioningconnection/change_form.html"
    change_list_template = "admin/accounts/provisioningconnection/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization", "application")
            .annotate(
                _active_tokens=Count(
                    "tokens",
                    filter=Q(tokens__revoked_at__isnull=True)
                    & (Q(tokens__expires_at__isnull=True) | Q(tokens__expires_at__gt=timezone.now())),
                )
            )
        )

    def has_change_permission(self, request, obj=None):
        return may_manage(request)

    def has_add_permission(self, request):
        return may_manage(request)

    @admin.display(description="live secret tokens", ordering="_active_tokens")
    def active_tokens(self, connection):
        return connection._active_tokens

    @admin.display(description="last used")
    def last_used(self, connection):
        return connection.last_used_at or "never"

    @admin.display(description="OAuth client id")
    def client_id(self, connection):
        return connection.application.client_id if connection.application else "—"

    @admin.display(description="redirect URIs")
    def redirect_uris(self, connection):
        if connection.application is None:
            return "—"
        uris = connection.application.redirect_uris.split()
        return format_html_join("", "<div><code>{}</code></div>", ((uri,) for uri in uris)) or "—"

    @admin.display(description="OAuth access (Authorize button and client credentials)")
    def oauth_authorizations(self, connection):
        if connection.application is None:
            return "—"
        tokens = (
            get_access_token_model()
            .objects.filter(application=connection.application, expires__gt=timezone.now())
            .select_related("user")
            .order_by("-created")[:20]
        )
        rows = [
            (
                f"authorized by {token.user.user_name}" if token.user else "client credentials",
                f"{token.created:%Y-%m-%d %H:%M} UTC",
                f"{token.expires:%Y-%m-%d %H:%M} UTC",
            )
            for token in tokens
        ]
        if not rows:
            return "No access token is valid right now."
        return format_html_join("", "<div>{}: issued {}, valid until {}</div>", rows)

    def add_view(self, request, form_url="", extra_context=None):
        """The "Connect Microsoft Entra ID" page: a new connection with its own OAuth client."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        fixed = None if request.user.is_superuser else request.user.organization
        form = ConnectEntraForm(request.POST or None, organization=fixed)
        if request.method == "POST" and form.is_valid():
            try:
                issued = entra_client_create(
                    organization=form.target_organization,
                    name=form.cleaned_data["name"],
                    extra_redirect_uris=form.cleaned_data["extra_redirect_uris"],
                    secret_expires_at=expiry_on(form.cleaned_data["secret_expires_on"]),
                )
            except AccountsError as exc:
                form.add_error(None, exc.message)
            else:
                admin_activity_record(
                    action=ActivityAction.CONNECTION_CREATED,
                    summary=f"Connected Microsoft Entra ID as “{issued.connection.name}” (new OAuth client).",
                    target=issued.connection,
                    request=request,
                )
                return self._connected_page(request, issued)
        context = {
            **self.admin_site.each_context(request),
            "title": "Connect Microsoft Entra ID",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/provisioningconnection/connect.html", context)

    def _connected_page(self, request, issued):
        return self._shown_once(
            request,
            "admin/accounts/provisioningconnection/connected.html",
            title="Microsoft Entra ID connected",
            connection=issued.connection,
            settings=entra_connection_settings(portal_base(request), issued),
        )

    def _shown_once(self, request, template: str, **context):
        """A page with a new secret on it: never cached, so Back does not show it again."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        response = TemplateResponse(request, template, context)
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "tenant_url": scim_base_url(request) + "/",
            # One Save at the end of the short form; the sections below have their own buttons.
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        connection = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if connection is not None:
            now = timezone.now()
            # Live ones first (NULLS FIRST: PostgreSQL would put them last), newest first.
            order = (F("revoked_at").asc(nulls_first=True), "-created_at")
            tokens = list(connection.tokens.order_by(*order))
            client_secrets = list(connection.client_secrets.order_by(*order))
            live_tokens = sum(t.is_usable(now) for t in tokens)
            live_secrets = sum(c.is_usable(now) for c in client_secrets)
            extra_context.update(
                tokens=tokens,
                client_secrets=client_secrets,
                # Rotation: a second credential may be issued beside the live one, never a third.
                live_tokens=live_tokens,
                may_issue_token=live_tokens < MAX_LIVE_CREDENTIALS,
                may_issue_secret=connection.application_id is not None
                and live_secrets < MAX_LIVE_CREDENTIALS,
                now=now,
                oauth_client_id=self.client_id(connection),
                oauth_redirect_uris=self.redirect_uris(connection),
                oauth_access=self.oauth_authorizations(connection),
                activity=admin_activity_for(connection),
                client_profiles=ClientProfile.choices,
                client_detection=client_detection(connection),
                answering_profile=ClientProfile(connection.answering_profile).label,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:connection_id>/tokens/new/",
                self.admin_site.admin_view(require_POST(self.issue_token_view)),
                name="accounts_provisioningconnection_issue_token",
            ),
            path(
                "<int:connection_id>/tokens/<int:token_id>/revoke/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.revoke_token_view)),
                name="accounts_provisioningconnection_revoke_token",
            ),
            path(
                "<int:connection_id>/client-secrets/new/",
                self.admin_site.admin_view(require_POST(self.issue_client_secret_view)),
                name="accounts_provisioningconnection_issue_client_secret",
            ),
            path(
                "<int:connection_id>/client-secrets/<int:secret_id>/revoke/",
                self.admin_site.admin_view(
                    require_http_methods(["GET", "POST"])(self.revoke_client_secret_view)
                ),
                name="accounts_provisioningconnection_revoke_client_secret",
            ),
            path(
                "<int:connection_id>/client/",
                self.admin_site.admin_view(require_POST(self.client_profile_view)),
                name="accounts_provisioningconnection_client_profile",
            ),
            *super().get_urls(),
        ]

    def _back(self, connection, section: str = ""):
        url = reverse("admin:accounts_provisioningconnection_change", args=[connection.pk])
        return HttpResponseRedirect(f"{url}#{section}" if section else url)

    def _connection(self, request, connection_id: int) -> ProvisioningConnection:
        if not may_manage(request):
            raise PermissionDenied
        connection = self.get_queryset(request).filter(pk=connection_id).first()
        if connection is None:
            raise Http404
        return connection

    def _expiry(self, request, connection):
        """The optional expiry date the issue forms send (None: never), or a redirect with the error."""
        form = CredentialExpiryForm(request.POST)
        if form.is_valid():
            return expiry_on(form.cleaned_data["expires_on"]), None
        messages.error(request, " ".join(form.errors["expires_on"]))
        return None, self._back(connection, "credentials")

    def issue_token_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        label = request.POST.get("label", "").strip() or None
        expires_at, refused = self._expiry(request, connection)
        if refused:
            return refused
        try:
            issued = scim_token_create(
                organization=connection.organization,
                label=label,
                expires_at=expires_at,
                connection_name=connection.name,
            )
        except AccountsError as exc:
            messages.error(request, exc.message)
            return self._back(connection, "credentials")
        admin_activity_record(
            action=ActivityAction.TOKEN_ISSUED,
            summary=f"Issued secret token {issued.token.label} ({issued.token.prefix}…).",
            target=connection,
            request=request,
        )
        return self._shown_once(
            request,
            "admin/accounts/secret_token_issued.html",
            title="Secret token issued",
            connection=connection,
            token=issued.token,
            secret=issued.secret,
            tenant_url=scim_base_url(request) + "/",
        )

    def client_profile_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        profile = request.POST.get("client_profile", "")
        try:
            connection_client_profile_set(connection=connection, profile=profile)
        except AccountsError as exc:
            messages.error(request, exc.message)
            return self._back(connection, "client")
        label = ClientProfile(profile).label
        admin_activity_record(
            action=ActivityAction.CHANGED,
            summary=f"SCIM client of “{connection.name}” set to: {label}",
            target=connection,
            request=request,
        )
        messages.success(request, f"SCIM client saved: {label}")
        return self._back(connection, "client")

    def revoke_token_view(self, request, connection_id: int, token_id: int):
        connection = self._connection(request, connection_id)
        token = connection.tokens.filter(pk=token_id, revoked_at__isnull=True).first()
        if token is None:
            raise Http404
        if not confirmed(request):
            used = (
                f"Entra last used it {token.last_used_at:%Y-%m-%d %H:%M} UTC."
                if token.last_used_at
                else "It has not been used yet."
            )
            return confirmation_page(
                request,
                connection,
                title=f"Revoke secret token {token.label}?",
                question=f"Revoke the secret token {token.label} ({token.prefix}…) of {connection.name}?",
                consequences=[
                    used,
                    "Every request made with it is refused from now on (HTTP 401); after three refusals "
                    "the connection is quarantined, until Entra has a new token.",
                    "This cannot be undone: issue a new token and enter it in Entra's provisioning settings.",
                ],
                button=f"Revoke {token.label}",
                action_url=request.path,
                opts=self.model._meta,
            )
        scim_token_revoke(organization=connection.organization, label=token.label)
        admin_activity_record(
            action=ActivityAction.TOKEN_REVOKED,
            summary=f"Revoked secret token {token.label} ({token.prefix}…).",
            target=connection,
            request=request,
        )
        messages.success(request, f"Token {token.label} revoked; Entra can no longer use it.")
        return self._back(connection, "credentials")

    # Client secrets of the connection's OAuth client (rotation: two live at once) -------------

    def issue_client_secret_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        expires_at, refused = self._expiry(request, connection)
        if refused:
            return refused
        try:
            issued = client_secret_create(connection=connection, expires_at=expires_at)
        except AccountsError as exc:
            messages.error(request, exc.message)
            return self._back(connection, "credentials")
        admin_activity_record(
            action=ActivityAction.CLIENT_SECRET_ISSUED,
            summary=f"Issued client secret {issued.credential.prefix}… of the OAuth client.",
            target=connection,
            request=request,
        )
        return self._shown_once(
            request,
            "admin/accounts/client_secret_issued.html",
            title="Client secret issued",
            connection=connection,
            issued=issued,
            others_live=connection.client_secrets.filter(live()).exclude(pk=issued.credential.pk).exists(),
        )

    def revoke_client_secret_view(self, request, connection_id: int, secret_id: int):
        connection = self._connection(request, connection_id)
        credential = connection.client_secrets.filter(pk=secret_id, revoked_at__isnull=True).first()
        if credential is None:
            raise Http404
        name = f"{credential.prefix}…" if credential.prefix else "issued at connection"
        if not confirmed(request):
            used = (
                f"Entra last used it {credential.last_used_at:%Y-%m-%d %H:%M} UTC."
                if credential.last_used_at
                else "It has not been used since rotation was recorded."
            )
            return confirmation_page(
                request,
                connection,
                title=f"Revoke client secret {name}?",
                question=f"Revoke the client secret {name} of {connection.name}?",
                consequences=[
                    used,
                    "Entra can no longer get access tokens with it at the Token URL (invalid_client), "
                    "and the access tokens it already got stop working at once.",
                    "This cannot be undone: issue a new client secret and enter it in Entra.",
                ],
                button=f"Revoke client secret {name}",
                action_url=request.path,
                opts=self.model._meta,
            )
        revoked = client_secret_revoke(connection=connection, secret_id=credential.pk)
        admin_activity_record(
            action=ActivityAction.CLIENT_SECRET_REVOKED,
            summary=f"Revoked client secret {name} of the OAuth client.",
            target=connection,
            request=request,
        )
        messages.success(
            request,
            f"Client secret {name} revoked; Entra can no longer use it, and "
            f"{ended_tokens_sentence(revoked.access_tokens_ended)}.",
        )
        return self._back(connection, "credentials")
