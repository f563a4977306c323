"""Callables the OAUTH2_PROVIDER settings refer to (settings cannot import app code directly)."""


def pkce_required(client_id: str) -> bool:
    from accounts.connections.oauth import pkce_required as policy

    return policy(client_id)
