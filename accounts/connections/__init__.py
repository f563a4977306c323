"""
Provisioning connections: which client (an Entra tenant) may provision into which organization,
with which credentials (secret tokens, an OAuth client). Part of the organization's domain, so
both the SCIM layer and the provisioning log build on it and it imports neither.
"""
