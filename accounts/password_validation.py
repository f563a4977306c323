"""Password validators of the portal (AUTH_PASSWORD_VALIDATORS), beside Django's own."""

import re
from difflib import SequenceMatcher

from django.contrib.auth import password_validation
from django.core.exceptions import FieldDoesNotExist, ValidationError


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    """
    Django's check, judged by the similarity itself. Django 5.2 compares with quick_ratio(), an
    order-blind upper bound: two unrelated random ids (a generated password beside a generated
    nickName, as SCIM clients and test suites send) score about 0.67 and a third of them are
    refused. Here quick_ratio() only screens, and ratio() decides.
    """

    def validate(self, password, user=None):
        if not user:
            return
        password = password.lower()
        for attribute_name in self.user_attributes:
            value = getattr(user, attribute_name, None)
            if not value or not isinstance(value, str):
                continue
            value_lower = value.lower()
            for value_part in [*re.split(r"\W+", value_lower), value_lower]:
                # Django's guard against costly comparisons of very different lengths.
                if password_validation.exceeds_maximum_length_ratio(
                    password, self.max_similarity, value_part
                ):
                    continue
                matcher = SequenceMatcher(a=password, b=value_part)
                if matcher.quick_ratio() >= self.max_similarity and matcher.ratio() >= self.max_similarity:
                    raise ValidationError(
                        self.get_error_message(),
                        code="password_too_similar",
                        params={"verbose_name": _verbose_name(user, attribute_name)},
                    )


def _verbose_name(user, attribute_name: str) -> str:
    try:
        return str(user._meta.get_field(attribute_name).verbose_name)
    except FieldDoesNotExist:
        return attribute_name
