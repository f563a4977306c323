"""
Federated credentials (Workload Identity Federation, RFC 7523 §2.2): a provisioning connection
trusts JWTs that an identity provider (Microsoft Entra ID) signs for it, instead of a stored
secret. `models` holds what an admin configures, `keys` where the signing keys come from,
`assertions` the token endpoint's checks, `services` the changes an admin makes.
"""
