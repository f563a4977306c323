"""
What a successful PATCH answers (RFC 7644 §3.5.2: "200 OK and the entire resource … subject to
the attributes query parameter", or 204 No Content), decided per request in one place.
"""

from accounts.connections.profiles import ClientProfile
from scim.requests import projection


def patch_answers_resource(request, resource_type) -> bool:
    """
    True: 200 with the (projected) resource; False: 204. `attributes`/`excludedAttributes` ask
    for the resource (§3.5.2). Otherwise by the connection's client: Entra reads the user it
    patched but advises 204 for groups (entra-scim.md §1.13: no member list per membership
    change); Okta's provisioning tests and generic clients expect 200 with the resource.
    Parses the attribute lists, so a bad one is refused before anything changes.
    """
    attributes, excluded = projection(request, resource_type)
    if attributes or excluded:
        return True
    if request.scim.connection.answering_profile == ClientProfile.ENTRA:
        return resource_type.id != "Group"
    return True


def members_show_display(request) -> bool:
    """
    Whether group members carry `display` when the request does not name the sub-attributes.
    Entra and Okta read it (Okta shows it as the member's name); a generic client gets it when it
    asks (attributes=members.display): scim2-tester, for one, writes a random `display` with each
    member and fails when the one read back is the account's name.
    """
    return request.scim.connection.answering_profile != ClientProfile.GENERIC
