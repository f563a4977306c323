"""Sign-in: userName (case-insensitive) plus password, for active, live accounts only."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import WorkAccount


class WorkAccountBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, organization=None, **kwargs):
        matches = self.accounts_matching(username, password, organization=organization)
        # Several organizations' accounts with this userName and password: the sign-in page asks
        # which one (accounts.views); a bare authenticate() cannot choose.
        return matches[0] if len(matches) == 1 else None

    def accounts_matching(self, username, password, *, organization=None) -> list[WorkAccount]:
        """
        Every live, active account with this userName (any organization, or only `organization`)
        whose password is `password`. SCIM allows one userName per organization, so there may be
        several; each candidate costs one hash, and an unknown userName costs one too (#20760).
        """
        if username is None or password is None:
            return []
        candidates = WorkAccount.objects.filter(user_name__iexact=username, deleted_at__isnull=True)
        if organization is not None:
            candidates = candidates.filter(organization=organization)
        candidates = list(candidates.select_related("organization").order_by("organization__name", "pk"))
        if not candidates:
            WorkAccount().set_password(password)
            return []
        return [
            account
            for account in candidates
            if account.check_password(password) and self.user_can_authenticate(account)
        ]

    def get_user(self, user_id):
        try:
            account = WorkAccount.objects.get(pk=user_id, deleted_at__isnull=True)
        except (WorkAccount.DoesNotExist, ValueError):
            return None
        return account if self.user_can_authenticate(account) else None
