"""The connection pages' "Are you sure?" step before a destructive action."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse


CONFIRM = "confirm"  # the POST field a confirmation page sends: destructive actions need it


def confirmation_page(request, connection, *, title, question, consequences, button, action_url, opts):
    """
    "Are you sure?" for a destructive action: a page of its own (CSP allows no inline script)
    whose form posts again with confirm=yes; Cancel goes back to the section it came from.
    """
    context = {
        **admin.site.each_context(request),
        "title": title,
        "question": question,
        "consequences": consequences,
        "button": button,
        "action_url": action_url,
        "confirm_field": CONFIRM,
        "connection": connection,
        "cancel_url": reverse("admin:accounts_provisioningconnection_change", args=[connection.pk]),
        "opts": opts,
    }
    return TemplateResponse(request, "admin/accounts/provisioningconnection/confirm.html", context)


def confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM) == "yes"
