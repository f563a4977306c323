"""Sign-in: userName (case-insensitive) plus password, for active, live accounts only."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import WorkAccount


class WorkAccountBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, organization=None, **kwargs):
        if username is None or password is None:
            return None
        candidates = WorkAccount.objects.filter(user_name__iexact=username, deleted_at__isnull=True)
        if organization is not None:
            candidates = candidates.filter(organization=organization)
        matches = list(candidates[:2])
        if len(matches) != 1:
            # Unknown, or the same userName in two organizations (the sign-in page then asks for
            # the organization): run the hasher anyway so timing does not reveal which (#20760).
            WorkAccount().set_password(password)
            return None
        account = matches[0]
        if account.check_password(password) and self.user_can_authenticate(account):
            return account
        return None

    def get_user(self, user_id):
        try:
            account = WorkAccount.objects.get(pk=user_id, deleted_at__isnull=True)
        except (WorkAccount.DoesNotExist, ValueError):
            return None
        return account if self.user_can_authenticate(account) else None
