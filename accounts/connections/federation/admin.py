"""
The connection page's "Federated credentials" section: admins add and remove the identity
providers a connection trusts instead of a client secret; support staff only read. Mixed into
ProvisioningConnectionAdmin, whose `_connection` and confirmation page it uses.
"""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from accounts.connections.confirm import confirmation_page, confirmed
from accounts.connections.credentials import ended_tokens_sentence
from accounts.connections.federation.forms import FederatedCredentialForm
from accounts.connections.federation.services import (
    default_audience,
    federated_credential_create,
    federated_credential_remove,
)
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services.activity import admin_activity_record
from accounts.sso.locations import portal_base


SECTION = "federated-credentials"
# Which form field a service error is about (the rest are shown above the form).
ERROR_FIELDS = (
    ("issuer", "issuer"),
    ("subject", "subject"),
    ("audience", "audience"),
    ("JWKS URL", "jwks_url"),
    ("JWK Set", "jwks"),
)


def _field_of(message: str) -> str | None:
    return next((field for word, field in ERROR_FIELDS if word in message), None)


class FederatedCredentialsAdminMixin:
    def change_view(self, request, object_id, form_url="", extra_context=None):
        if object_id.isdigit():
            connection = self.get_queryset(request).filter(pk=object_id).first()
            if connection is not None:
                extra_context = {
                    **(extra_context or {}),
                    "federated_credentials": list(connection.federated_credentials.all()),
                }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:connection_id>/federated-credentials/new/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.add_federated_view)),
                name="accounts_provisioningconnection_add_federated",
            ),
            path(
                "<int:connection_id>/federated-credentials/<int:credential_id>/remove/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.remove_federated_view)),
                name="accounts_provisioningconnection_remove_federated",
            ),
            *super().get_urls(),
        ]

    def add_federated_view(self, request, connection_id: int):
        connection = self._connection(request, connection_id)
        base = portal_base(request)
        form = FederatedCredentialForm(request.POST or None, initial={"audience": default_audience(base)})
        if request.method == "POST" and form.is_valid():
            try:
                credential = federated_credential_create(
                    connection=connection, base=base, **form.cleaned_data
                )
            except AccountsError as exc:
                form.add_error(_field_of(exc.message), exc.message)
            else:
                admin_activity_record(
                    action=ActivityAction.CHANGED,
                    summary=f"Added federated credential {credential.subject} of {credential.issuer}.",
                    target=connection,
                    request=request,
                )
                messages.success(
                    request, f"Entra can now get tokens as {credential.subject} of {credential.issuer}."
                )
                return self._back(connection, SECTION)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add a federated credential to {connection.name}",
            "connection": connection,
            "form": form,
            "client_id": connection.application.client_id if connection.application else None,
            "token_url": default_audience(base),
            "cancel_url": reverse("admin:accounts_provisioningconnection_change", args=[connection.pk])
            + f"#{SECTION}",
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/accounts/provisioningconnection/federated_credential_add.html", context
        )

    def remove_federated_view(self, request, connection_id: int, credential_id: int):
        connection = self._connection(request, connection_id)
        credential = connection.federated_credentials.filter(pk=credential_id).first()
        if credential is None:
            raise Http404
        if not confirmed(request):
            return confirmation_page(
                request,
                connection,
                title="Remove federated credential?",
                question=f"Remove the federated credential {credential.subject} of {credential.issuer}?",
                consequences=[
                    "Entra can no longer get tokens with it, and the access tokens it already got "
                    "stop working at once.",
                    "Add it again to undo this.",
                ],
                button="Remove federated credential",
                action_url=request.path,
                opts=self.model._meta,
            )
        removed = federated_credential_remove(connection=connection, credential_id=credential.pk)
        admin_activity_record(
            action=ActivityAction.CHANGED,
            summary=f"Removed federated credential {credential.subject} of {credential.issuer}.",
            target=connection,
            request=request,
        )
        messages.success(
            request,
            f"Federated credential {credential.subject} removed; "
            f"{ended_tokens_sentence(removed.access_tokens_ended)}.",
        )
        return HttpResponseRedirect(
            reverse("admin:accounts_provisioningconnection_change", args=[connection.pk]) + f"#{SECTION}"
        )
