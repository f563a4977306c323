"""Where a signed-in person lands: the admin portal for admins and support staff, their own page otherwise."""

from django.urls import reverse


def after_signin_url(account, next_url: str) -> str:
    """
    `next_url`, unless it leads into the admin portal and the account may not open it: a member
    sent there would be bounced back to the sign-in page with no message.
    """
    if not account.is_staff and next_url.startswith(reverse("admin:index")):
        return reverse("my-account")
    return next_url
