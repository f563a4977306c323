"""
The SCIM side of accounts.attributes.SIMPLE_ATTRIBUTES (the one table of simple User attributes),
indexed the ways the document builder, the schema, the filter compiler and the log look it up.
"""

from accounts.attributes import SIMPLE_ATTRIBUTES


# Top-level core attributes: {"userName": SimpleAttribute, …}
CORE = {a.name: a for a in SIMPLE_ATTRIBUTES if not a.enterprise and "." not in a.name}
# Sub-attributes of the complex `name`: {"givenName": SimpleAttribute, …}
NAME = {a.name.partition(".")[2]: a for a in SIMPLE_ATTRIBUTES if a.name.startswith("name.")}
# Attributes of the enterprise User extension: {"department": SimpleAttribute, …}
ENTERPRISE = {a.name: a for a in SIMPLE_ATTRIBUTES if a.enterprise}
# The name the provisioning log shows for a changed field.
LOGGED_NAMES = {a.field: a.name for a in SIMPLE_ATTRIBUTES}
