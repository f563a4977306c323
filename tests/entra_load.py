"""
Entra's initial provisioning cycle as Entra sends it (docs/entra-scim.md §1.3, §1.5, §1.13, §1.17),
through a tests.cluster.ScimClient: the credential probe, then per user the match query
(`userName eq "…"` → 200 empty ListResponse) and the POST; groups (match on displayName, POST,
PATCH Add members); attribute updates (legacy multi-op PATCH); disables (`Replace active "False"`).

Retries are the client's, as Entra's are: an answer that is not an answer (connection refused or
broken, 502/504 from the balancer, a 503 that is not a SCIM error, a 429) is tried again. A user's
creation is retried from its match query, so a POST whose answer was lost after it committed is
found, not created twice.
"""

import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote_plus

from tests.cluster import Answer, ScimClient


USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
]
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
GIVEN = ["Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Lee", "Megan", "Nestor"]
FAMILY = ["Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lidic", "Gu", "Bowen", "Wilke"]
HELD_PREFIX = "Held for admin approval"
MAX_ATTEMPTS = 30
MAX_BACKOFF_S = 2.0


def filter_eq(attribute: str, value: str) -> str:
    """Entra's encoding of a match filter: spaces as +, quotes as %22 (entra-scim.md §1.2)."""
    return f"{attribute}+eq+%22{quote_plus(str(value), safe='@')}%22"


@dataclass(frozen=True)
class EntraUser:
    user_name: str
    external_id: str
    given: str
    family: str
    department: str

    def body(self) -> dict:
        """Entra's documented create body (entra-scim.md §1.5)."""
        return {
            "schemas": USER_SCHEMAS,
            "externalId": self.external_id,
            "userName": self.user_name,
            "active": True,
            "displayName": f"{self.given} {self.family}",
            "emails": [{"primary": True, "type": "work", "value": self.user_name}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": f"{self.given} {self.family}",
                "familyName": self.family,
                "givenName": self.given,
            },
            ENTERPRISE: {"department": self.department},
            "roles": [],
        }


def entra_users(prefix: str, count: int) -> list[EntraUser]:
    return [
        EntraUser(
            user_name=f"{GIVEN[i % 10]}.{FAMILY[i // 10 % 10]}{i:05d}@{prefix}.example",
            external_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}/{i}")),
            given=GIVEN[i % 10],
            family=FAMILY[i // 10 % 10],
            department="Retail" if i % 3 else "Sales",
        )
        for i in range(count)
    ]


def held(answer: Answer) -> bool:
    """The mass-deprovisioning guard's 503 (provisioning_logs.guard.HELD): waits for an admin."""
    return (
        answer.status == 503
        and isinstance(answer.body, dict)
        and ERROR in answer.body.get("schemas", [])
        and answer.body.get("detail", "").startswith(HELD_PREFIX)
    )


def retryable(answer: Answer) -> bool:
    """
    Not the portal's answer about this request: tried again now, as Entra would. A request the
    guard held is final for this cycle (Entra retries it much later, after an admin decided).
    """
    return answer.status in (0, 429, 502, 504) or (answer.status == 503 and not held(answer))


def _backoff(answer: Answer, attempt: int) -> None:
    after = answer.headers.get("retry-after", "")
    delay = float(after) if after.isdigit() else 0.05 * 2**attempt
    time.sleep(min(delay, MAX_BACKOFF_S))


@dataclass
class Outcome:
    """One logical operation (a user's match-then-create, a PATCH, …) after its retries."""

    key: str
    ok: bool
    answer: Answer | None
    attempts: int
    resource_id: str = ""

    @property
    def status(self) -> int:
        return self.answer.status if self.answer is not None else 0


def with_retries(key: str, send: Callable[[], Answer], ok: Iterable[int], retry: bool = True) -> Outcome:
    ok = tuple(ok)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        answer = send()
        if answer.status in ok:
            return Outcome(key, True, answer, attempt)
        if not (retry and retryable(answer)):
            return Outcome(key, False, answer, attempt)
        _backoff(answer, attempt)
    return Outcome(key, False, answer, MAX_ATTEMPTS)


def probe(client: ScimClient) -> Outcome:
    """Test Connection / start of cycle: a random GUID that matches nobody (§1.3)."""
    return with_retries(
        "probe", lambda: client.get(f"/Users?filter={filter_eq('userName', uuid.uuid4())}"), ok=(200,)
    )


def provision_user(client: ScimClient, user: EntraUser, retry: bool = True) -> Outcome:
    """Match on userName; create when there is no match (scenario B of §1.17)."""
    answer = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        answer = client.get(f"/Users?filter={filter_eq('userName', user.user_name)}")
        if answer.status == 200 and answer.body["totalResults"] == 1:
            return Outcome(user.user_name, True, answer, attempt, answer.body["Resources"][0]["id"])
        if answer.status == 200 and answer.body["totalResults"] == 0:
            answer = client.post("/Users", user.body())
            if answer.status == 201:
                return Outcome(user.user_name, True, answer, attempt, answer.body["id"])
            if answer.status == 409 and retry:
                continue  # an earlier attempt did create it: the match finds it
        if not (retry and retryable(answer)):
            return Outcome(user.user_name, False, answer, attempt)
        _backoff(answer, attempt)
    return Outcome(user.user_name, False, answer, MAX_ATTEMPTS)


def provision_group(client: ScimClient, name: str, member_ids: list[str], chunk: int = 50) -> Outcome:
    """Match on displayName, create with no members, then PATCH Add members in chunks (§1.13)."""
    outcome = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        answer = client.get(f"/Groups?excludedAttributes=members&filter={filter_eq('displayName', name)}")
        if answer.status == 200 and answer.body["totalResults"] == 1:
            outcome = Outcome(name, True, answer, attempt, answer.body["Resources"][0]["id"])
            break
        if answer.status == 200:
            answer = client.post(
                "/Groups",
                {
                    "schemas": GROUP_SCHEMAS,
                    "externalId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                    "displayName": name,
                    "meta": {"resourceType": "Group"},
                },
            )
            if answer.status == 201:
                outcome = Outcome(name, True, answer, attempt, answer.body["id"])
                break
            if answer.status == 409:
                continue
        if not retryable(answer):
            return Outcome(name, False, answer, attempt)
        _backoff(answer, attempt)
    if outcome is None:
        return Outcome(name, False, None, MAX_ATTEMPTS)
    for start in range(0, len(member_ids), chunk):
        members = [{"$ref": None, "value": member} for member in member_ids[start : start + chunk]]
        added = with_retries(
            name,
            lambda members=members: client.patch(
                f"/Groups/{outcome.resource_id}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": members}]},
            ),
            ok=(204,),
        )
        if not added.ok:
            return added
    return outcome


def update_user(client: ScimClient, resource_id: str, family: str, email: str) -> Outcome:
    """Legacy multi-op PATCH (§1.7): Replace the work e-mail and the family name."""
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": email},
            {"op": "Replace", "path": "name.familyName", "value": family},
        ],
    }
    return with_retries(resource_id, lambda: client.patch(f"/Users/{resource_id}", body), ok=(200, 204))


def disable_user(client: ScimClient, resource_id: str, retry: bool = True) -> Outcome:
    """Unassign / soft delete, default mode: `Replace active "False"` (§1.11)."""
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    return with_retries(
        resource_id, lambda: client.patch(f"/Users/{resource_id}", body), ok=(200, 204), retry=retry
    )


def in_parallel(items: list, work: Callable, concurrency: int) -> list:
    """work(item) for every item with `concurrency` threads; results in the items' order."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(work, items))
