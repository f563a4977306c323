"""
The provisioning audit API (/api/v1/, Django REST framework): the provisioning log's events,
cycles and connection health, read-only, for support tools, status pages and SIEMs. Portal users
read it with their session; machine clients (ApiClient) with OAuth 2 client-credentials tokens of
scope audit:read. Every query is scoped to the caller's organization by ApiScopedViewSet.
"""
