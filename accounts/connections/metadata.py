"""
OAuth 2.0 Authorization Server Metadata (RFC 8414) at /.well-known/oauth-authorization-server:
django-oauth-toolkit's view, told what it cannot know itself. Public and cacheable.
"""

import json

from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import patch_cache_control
from oauth2_provider.views import OAuthServerMetadataView

from accounts.connections.federation.assertions import ALGORITHMS


CACHE_SECONDS = 3600
# The revocation endpoint takes client secrets only (client assertions: the token grant only).
REVOCATION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class AuthorizationServerMetadataView(OAuthServerMetadataView):
    def get(self, request, *args, **kwargs):
        metadata = json.loads(super().get(request, *args, **kwargs).content)
        # Our scopes backend names a client's own scope only, so DOT's list would be empty.
        metadata["scopes_supported"] = sorted(settings.OAUTH2_PROVIDER["SCOPES"])
        # RFC 8414 §2: the algorithms private_key_jwt assertions may be signed with.
        metadata["token_endpoint_auth_signing_alg_values_supported"] = list(ALGORITHMS)
        metadata["revocation_endpoint_auth_methods_supported"] = REVOCATION_AUTH_METHODS
        response = JsonResponse(metadata)
        response["Access-Control-Allow-Origin"] = "*"
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response
