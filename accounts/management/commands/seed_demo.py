from django.core.management.base import BaseCommand

from accounts.demo import seed_demo_organization


class Command(BaseCommand):
    help = "Create the demo organization (contoso) and its admin if missing, and print how to connect."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url, **options):
        demo = seed_demo_organization()
        base_url = base_url.rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Work Accounts portal — demo organization ready",
                    f"  SCIM base URL (Entra 'Tenant URL'): {base_url}/scim/v2/",
                    f"  Admin sign-in: {base_url}/signin/ as {demo.admin_user_name} / {demo.admin_password}",
                    f"  SCIM bearer token (Entra 'Secret Token'), label {demo.token_label}:",
                    f"    {demo.token_secret}",
                    f"  Try it: curl -H 'Authorization: Bearer {demo.token_secret}' {base_url}/scim/v2/Users",
                    "",
                ]
            )
        )
