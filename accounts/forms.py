"""Sign-in forms: the username first (it decides password or, later, the organization's SSO)."""

from django import forms

from accounts.models import WorkAccount


USERNAME_MAX = WorkAccount._meta.get_field("user_name").max_length


class UsernameForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=USERNAME_MAX,
        error_messages={
            "required": "Enter your Meta Work Accounts username.",
            "max_length": f"A username has at most {USERNAME_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "spellcheck": "false"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if not username:
            raise forms.ValidationError(self.fields["username"].error_messages["required"])
        return username


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        error_messages={"required": "Enter your password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
