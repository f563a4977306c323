"""
/scim/v2/ is served through django-scim2's own machinery: every kind of request passes its
SCIMView.dispatch, whose AUTH_CHECK_MIDDLEWARE hook runs our bearer check, and OAuth tokens are
verified by django-oauth-toolkit's validator. Recorded by spies on the library code itself.
"""

import pytest
from django_scim import views as django_scim_views
from oauth2_provider.oauth2_validators import OAuth2Validator

from accounts import prepared
from accounts.connections.services import entra_client_create
from scim import hooks
from scim.adapters.groups import WorkGroupSCIMGroup
from scim.adapters.patching import PatchHandlers
from scim.adapters.users import WorkAccountSCIMUser
from scim.auth import BearerTokenAuthCheck
from tests.conftest import ScimClient


pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def recorded(monkeypatch):
    """Names of the library functions that ran, in order."""
    calls = []

    def spy(owner, name, label):
        original = owner.__dict__[name]

        def recording(*args, **kwargs):
            calls.append(label)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, recording)

    spy(django_scim_views.SCIMView, "dispatch", "SCIMView.dispatch")
    spy(BearerTokenAuthCheck, "__call__", "AUTH_CHECK_MIDDLEWARE")
    spy(OAuth2Validator, "validate_bearer_token", "OAuth2Validator.validate_bearer_token")
    return calls


def _requests(user_id: str, group_id: str) -> list[tuple]:
    return [
        ("GET", f"/Users/{user_id}", None),
        ("GET", "/Users", None),
        ("GET", '/Users?filter=userName eq "ada@contoso.com"', None),
        ("POST", "/Users", {"schemas": [USER], "userName": "grace@contoso.com"}),
        ("PUT", f"/Users/{user_id}", {"schemas": [USER], "userName": "ada@contoso.com", "title": "Countess"}),
        (
            "PATCH",
            f"/Users/{user_id}",
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]},
        ),
        ("POST", "/Users/.search", {"schemas": [SEARCH], "filter": 'userName sw "ada"'}),
        ("GET", f"/Groups/{group_id}", None),
        ("GET", "/Groups", None),
        (
            "PATCH",
            f"/Groups/{group_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
            },
        ),
        ("POST", "/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName eq "Sales"'}),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/ResourceTypes", None),
        ("GET", "/Schemas", None),
        ("DELETE", f"/Groups/{group_id}", None),
        ("DELETE", f"/Users/{user_id}", None),
    ]


@pytest.fixture
def resources(scim):
    user_id = scim.post("/Users", {"schemas": [USER], "userName": "ada@contoso.com"}).body["id"]
    group_id = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"}).body["id"]
    return user_id, group_id


def test_every_kind_of_request_passes_django_scim2_dispatch_and_its_auth_hook(scim, resources, recorded):
    for method, path, body in _requests(*resources):
        recorded.clear()
        response = scim.request(method, path, body)
        assert response.status_code < 300, (method, path, response.body)
        assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE"], (method, path)


def test_refused_bearer_is_answered_by_the_auth_hook_inside_django_scim2_dispatch(recorded, organization):
    response = ScimClient("wat_not-a-token").get("/Users")

    assert response.status_code == 401
    assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE"]


def test_oauth_token_is_verified_by_django_oauth_toolkits_validator(client, organization, recorded):
    issued = entra_client_create(organization=organization, name="Entra OAuth")
    token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "scim"},
        headers={"Authorization": _basic(issued.client_id, issued.client_secret)},
    ).json()["access_token"]
    recorded.clear()

    response = ScimClient(token).get("/Users")

    assert response.status_code == 200
    assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE", "OAuth2Validator.validate_bearer_token"]


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# Handlers, adapter contract and settings hooks -----------------------------------------------------

V = django_scim_views
LIBRARY_CODE = [
    (V.GetView, "get", "get"),
    (V.GetView, "get_single", "get_single"),
    (V.GetView, "get_many", "get_many"),
    (V.PostView, "post", "post"),
    (V.PutView, "put", "put"),
    (V.DeleteView, "delete", "delete"),
    (V.SearchView, "post", "search"),
    (V.SCIMView, "get_object", "get_object"),
    (V.ServiceProviderConfigView, "get", "ServiceProviderConfigView.get"),
    (V.ResourceTypesView, "get", "ResourceTypesView.get"),
    (V.ResourceTypesView, "type_dict_by_type_id", "ResourceTypesView.type_dict_by_type_id"),
    (V.SchemasView, "get", "SchemasView.get"),
]
# The adapters and hooks named in SCIM_SERVICE_PROVIDER, as django-scim2 calls them.
HOOKS = [
    (WorkAccountSCIMUser, "from_dict", "User.from_dict"),
    (WorkAccountSCIMUser, "to_dict", "User.to_dict"),
    (WorkAccountSCIMUser, "save", "User.save"),
    (WorkAccountSCIMUser, "delete", "User.delete"),
    (WorkAccountSCIMUser, "handle_operations", "User.handle_operations"),
    (WorkGroupSCIMGroup, "from_dict", "Group.from_dict"),
    (WorkGroupSCIMGroup, "to_dict", "Group.to_dict"),
    (WorkGroupSCIMGroup, "save", "Group.save"),
    (WorkGroupSCIMGroup, "delete", "Group.delete"),
    (WorkGroupSCIMGroup, "handle_operations", "Group.handle_operations"),
    (PatchHandlers, "handle_add", "handle_add"),
    (PatchHandlers, "handle_replace", "handle_replace"),
    (PatchHandlers, "handle_remove", "handle_remove"),
    (hooks.FilterQuery, "search", {hooks.UserFilterQuery: "USER_FILTER_PARSER.search"}),
    (hooks.ServiceProviderConfig, "to_dict", "SERVICE_PROVIDER_CONFIG_MODEL.to_dict"),
]


@pytest.fixture
def ran(monkeypatch):
    """Names of django-scim2's handlers and of the adapter and hook methods it called."""
    calls = []
    for owner, name, label in LIBRARY_CODE + HOOKS:
        original = owner.__dict__[name]
        is_classmethod = isinstance(original, classmethod)
        function = original.__func__ if is_classmethod else original

        def recording(*args, _function=function, _label=label, **kwargs):
            # A classmethod shared by the User and Group parsers is named by the class it ran on.
            calls.append(
                _label.get(args[0], "GROUP_FILTER_PARSER.search") if isinstance(_label, dict) else _label
            )
            return _function(*args, **kwargs)

        monkeypatch.setattr(owner, name, classmethod(recording) if is_classmethod else recording)
    for setting in ("GET_EXTRA_MODEL_FILTER_KWARGS_GETTER", "GET_QUERYSET_POST_PROCESSOR_GETTER"):
        _spy_getter(monkeypatch, setting, calls)
    return calls


def _spy_getter(monkeypatch, setting, calls):
    from django_scim.settings import scim_settings

    getter = getattr(scim_settings, setting)

    def recording_getter(model):
        hook = getter(model)

        def recording(*args, **kwargs):
            calls.append(setting)
            return hook(*args, **kwargs)

        return recording

    monkeypatch.setattr(scim_settings, setting, recording_getter)


def _kinds(user_id: str, group_id: str) -> list[tuple]:
    scoped = {"GET_EXTRA_MODEL_FILTER_KWARGS_GETTER"}
    listed = scoped | {"GET_QUERYSET_POST_PROCESSOR_GETTER"}
    user_search = {"search", "USER_FILTER_PARSER.search", "User.to_dict"} | listed
    group_search = {"search", "GROUP_FILTER_PARSER.search", "Group.to_dict"} | listed
    return [
        ("GET", "/Users", None, {"get", "get_many", "User.to_dict"} | listed),
        (
            "GET",
            '/Users?filter=userName eq "ada@contoso.com"',
            None,
            {"get", "get_many", "USER_FILTER_PARSER.search", "User.to_dict"} | listed,
        ),
        ("GET", f"/Users/{user_id}", None, {"get", "get_single", "get_object", "User.to_dict"} | scoped),
        (
            "POST",
            "/Users",
            {"schemas": [USER], "userName": "grace@contoso.com"},
            {"post", "User.from_dict", "User.save", "User.to_dict"},
        ),
        (
            "PUT",
            f"/Users/{user_id}",
            {"schemas": [USER], "userName": "ada@contoso.com", "title": "Countess"},
            {"put", "User.from_dict", "User.save", "User.to_dict"},
        ),
        (
            "PATCH",
            f"/Users/{user_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "add", "path": "nickName", "value": "Ada"},
                    {"op": "replace", "path": "title", "value": "Dr"},
                    {"op": "remove", "path": "nickName"},
                ],
            },
            {"User.handle_operations", "handle_add", "handle_replace", "handle_remove", "User.to_dict"},
        ),
        ("POST", "/Users/.search", {"schemas": [SEARCH], "filter": 'userName sw "ada"'}, user_search),
        ("GET", "/Groups", None, {"get", "get_many", "Group.to_dict"} | listed),
        (
            "GET",
            '/Groups?filter=displayName eq "Sales"',
            None,
            {"get", "get_many", "GROUP_FILTER_PARSER.search", "Group.to_dict"} | listed,
        ),
        ("GET", f"/Groups/{group_id}", None, {"get", "get_single", "get_object", "Group.to_dict"} | scoped),
        (
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "Marketing"},
            {"post", "Group.from_dict", "Group.save", "Group.to_dict"},
        ),
        (
            "PUT",
            f"/Groups/{group_id}",
            {"schemas": [GROUP], "displayName": "Sales"},
            {"put", "Group.from_dict", "Group.save", "Group.to_dict"},
        ),
        (
            "PATCH",
            f"/Groups/{group_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": user_id}]},
                    {"op": "replace", "path": "displayName", "value": "Sales"},
                ],
            },
            {"Group.handle_operations", "handle_replace"},
        ),
        ("POST", "/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName eq "Sales"'}, group_search),
        (
            "GET",
            "/ServiceProviderConfig",
            None,
            {"ServiceProviderConfigView.get", "SERVICE_PROVIDER_CONFIG_MODEL.to_dict"},
        ),
        ("GET", "/ResourceTypes", None, {"ResourceTypesView.get", "ResourceTypesView.type_dict_by_type_id"}),
        ("GET", "/Schemas", None, {"SchemasView.get"}),
        ("DELETE", f"/Groups/{group_id}", None, {"delete", "Group.delete"}),
        ("DELETE", f"/Users/{user_id}", None, {"delete", "User.delete"}),
    ]


def test_each_kind_of_request_runs_django_scim2_handlers_adapter_contract_and_hooks(scim, resources, ran):
    # A filtered page's query is composed by the hooks once per shape (accounts.prepared): first reads.
    prepared.forget()
    for method, path, body, expected in _kinds(*resources):
        ran.clear()
        response = scim.request(method, path, body)
        assert response.status_code < 300, (method, path, response.body)
        assert expected <= set(ran), (method, path, sorted(expected - set(ran)))


def test_a_filtered_page_of_a_shape_already_read_binds_its_values_into_the_hooks_composition(scim, ran):
    prepared.forget()
    scim.get('/Users?filter=userName eq "ada@contoso.com"')
    ran.clear()

    response = scim.get('/Users?filter=userName eq "nobody@contoso.com"')

    assert response.body["totalResults"] == 0
    assert set(ran) == {"get", "get_many"}
