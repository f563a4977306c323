"""
The admin index's sections. Django files models under their app, which put organizations and
single sign-on under "Work accounts" and connections apart from the logs they produce; the portal
groups them by what a person comes to do instead.
"""

# (section name, its models as "app_label.ModelName"), in the order shown.
SECTIONS = (
    ("Directory", ("accounts.WorkAccount", "accounts.WorkGroup")),
    (
        "Provisioning",
        (
            "provisioning_logs.ProvisioningEvent",
            "accounts.ProvisioningConnection",
            "provisioning_logs.ApiClient",
        ),
    ),
    (
        "Organization settings",
        ("accounts.Organization", "accounts.SsoConfiguration", "accounts.AdminActivity"),
    ),
)
OTHER = "Other"


def sectioned_app_list(app_list: list[dict]) -> list[dict]:
    """Django's app list (apps of models) regrouped into SECTIONS; unknown models go to "Other"."""
    models = {}
    apps = {}
    for app in app_list:
        for model in app["models"]:
            key = f"{app['app_label']}.{model['object_name']}"
            models[key] = model
            apps[key] = app
    sections = []
    for name, keys in SECTIONS:
        chosen = [models.pop(key) for key in keys if key in models]
        if chosen:
            first = apps[f"{keys[0]}"] if keys[0] in apps else next(iter(apps.values()))
            sections.append(_section(name, chosen, first))
    if models:
        sections.append(_section(OTHER, list(models.values()), next(iter(apps.values()))))
    return sections


def _section(name: str, models: list[dict], app: dict) -> dict:
    return {**app, "name": name, "models": models, "app_url": models[0]["admin_url"] or app["app_url"]}


def install(site) -> None:
    """Regroup the index and the sidebar of `site` (an app's own page keeps its own list)."""
    original = site.get_app_list

    def get_app_list(request, app_label=None):
        app_list = original(request, app_label)
        return app_list if app_label else sectioned_app_list(app_list)

    site.get_app_list = get_app_list
