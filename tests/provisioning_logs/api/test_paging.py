"""
Cursor pages of /api/v1/events/: keyed on the id, never counted, unshaken by inserts between
page fetches; oldest first with `since` and the `next` link exports every event exactly once,
also while Entra keeps writing.
"""

import base64
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as database
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.connections.services import connection_get_or_create
from provisioning_logs.api.pagination import BAD_CURSOR, BAD_PAGE_SIZE
from provisioning_logs.models import ProvisioningEvent
from tests.provisioning_logs.api.conftest import T0, ids


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.django_db
class TestPages:
    def test_pages_newest_first_cover_every_event_once(self, api, connection, timeline):
        events = timeline(connection, 7)

        pages = api.pages("/events/", {"page_size": 3})

        assert [ids(page) for page in pages] == [
            [e.pk for e in reversed(events[4:7])],
            [e.pk for e in reversed(events[1:4])],
            [events[0].pk],
        ]

    def test_the_default_page_size_is_the_setting(self, api, connection, timeline, settings):
        settings.AUDIT_API_PAGE_SIZE = 4
        timeline(connection, 5)

        response = api.get("/events/")

        assert len(response.body["results"]) == 4
        assert response.body["next"] is not None

    def test_a_new_event_does_not_shift_the_next_page(self, api, connection, timeline, record):
        events = timeline(connection, 4)
        first = api.get("/events/", {"page_size": 2}).body

        newer = record(connection, at=T0 + timedelta(hours=1))
        second = api.get(first["next"]).body

        assert ids(first["results"]) == [events[3].pk, events[2].pk]
        assert ids(second["results"]) == [events[1].pk, events[0].pk]
        assert newer.pk not in ids(second["results"])

    def test_the_previous_link_of_a_later_page_shows_newer_events_including_new_ones(
        self, api, connection, timeline, record
    ):
        events = timeline(connection, 4)
        second = api.get(api.get("/events/", {"page_size": 2}).body["next"]).body
        newer = record(connection, at=T0 + timedelta(hours=1))

        back = api.get(second["previous"]).body

        assert ids(back["results"]) == [events[3].pk, events[2].pk]
        assert ids(api.get(back["previous"]).body["results"]) == [newer.pk]

    def test_a_list_page_never_counts_the_table(self, api, connection, timeline):
        timeline(connection, 3)

        with CaptureQueriesContext(database) as queries:
            assert api.get("/events/", {"page_size": 2}).status_code == 200

        events_table = ProvisioningEvent._meta.db_table
        assert not [q["sql"] for q in queries if events_table in q["sql"] and "COUNT(" in q["sql"].upper()]

    def test_a_page_reads_the_events_in_one_query(self, api, connection, timeline):
        timeline(connection, 5)

        with CaptureQueriesContext(database) as queries:
            api.get("/events/")

        assert len([q for q in queries if "provisioning_logs_provisioningevent" in q["sql"]]) == 1

    @pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", "1001"])
    def test_a_bad_page_size_is_400(self, api, size):
        response = api.get("/events/", {"page_size": size})

        assert (response.status_code, response.body) == (
            400,
            {"page_size": [BAD_PAGE_SIZE.format(limit=1000)]},
        )

    def test_the_largest_page_size_is_accepted(self, api, connection, timeline):
        timeline(connection, 2)

        assert len(api.get("/events/", {"page_size": "1000"}).body["results"]) == 2

    @pytest.mark.parametrize(
        "value",
        ["garbage!", cursor("p=abc"), cursor("p=1;DROP"), cursor("p=-5"), cursor("o=x"), cursor("r=maybe")],
    )
    def test_a_bad_cursor_is_400(self, api, value):
        response = api.get("/events/", {"cursor": value})

        assert (response.status_code, response.body) == (400, {"cursor": [BAD_CURSOR]})

    def test_a_cursor_is_a_position_not_a_permission(
        self, api, other_api, connection, timeline, other_organization
    ):
        theirs = timeline(connection_get_or_create(organization=other_organization), 2)
        timeline(connection, 3)
        our_next = api.get("/events/", {"page_size": 1}).body["next"]

        assert ids(other_api.get(our_next).body["results"]) == [theirs[1].pk]


@pytest.mark.django_db
class TestExport:
    """Oldest first, from `since`, following `next`: what a SIEM does every minute."""

    def export(self, api, url: str, params=None) -> tuple[list[int], str]:
        """Follow `next` until a page comes back empty; return the ids seen and the link to keep."""
        seen = []
        while True:
            response = api.get(url, params)
            assert response.status_code == 200, response.body
            assert response.body["next"], "an export always has a next link"
            seen += ids(response.body["results"])
            if not response.body["results"]:
                return seen, url
            url, params = response.body["next"], None

    def test_since_starts_the_export_at_that_moment(self, api, connection, timeline):
        events = timeline(connection, 5)

        seen, _ = self.export(
            api, "/events/", {"order": "oldest", "since": "2026-11-02T09:02:00Z", "page_size": 2}
        )

        assert seen == [e.pk for e in events[2:]]

    def test_the_last_next_link_returns_exactly_what_was_recorded_after_it(
        self, api, connection, timeline, record
    ):
        events = timeline(connection, 5)
        seen, keep = self.export(
            api, "/events/", {"order": "oldest", "since": "2026-11-02T00:00:00Z", "page_size": 2}
        )

        later = [record(connection, at=T0 + timedelta(hours=1, minutes=i)) for i in range(3)]
        more, keep = self.export(api, keep)
        nothing, _ = self.export(api, keep)

        assert seen == [e.pk for e in events]
        assert more == [e.pk for e in later]
        assert nothing == []

    def test_inserts_between_page_fetches_are_neither_lost_nor_repeated(
        self, api, connection, timeline, record
    ):
        events = timeline(connection, 4)
        url, params, seen, written = "/events/", {"order": "oldest", "page_size": 2}, [], list(events)
        for round_number in range(6):
            page = api.get(url, params).body
            seen += ids(page["results"])
            url, params = page["next"], None
            written.append(record(connection, at=T0 + timedelta(hours=1, minutes=round_number)))
        seen += self.export(api, url)[0]

        assert seen == [e.pk for e in written]
        assert len(set(seen)) == len(seen)

    def test_an_empty_first_export_keeps_its_request_for_later(self, api, connection, record):
        first = api.get("/events/", {"order": "oldest", "since": "2026-11-02T00:00:00Z"}).body
        event = record(connection, at=T0)

        assert first["results"] == []
        assert "cursor=" not in first["next"]
        assert ids(api.get(first["next"]).body["results"]) == [event.pk]

    def test_an_export_with_until_ends(self, api, connection, timeline):
        timeline(connection, 2)

        body = api.get("/events/", {"order": "oldest", "until": "2026-11-02T10:00:00Z"}).body

        assert (len(body["results"]), body["next"]) == (2, None)

    def test_newest_first_has_no_next_link_on_its_last_page(self, api, connection, timeline):
        timeline(connection, 2)

        assert api.get("/events/").body["next"] is None

    def test_the_export_keeps_the_filters_in_its_links(self, api, connection, timeline, record):
        timeline(connection, 2, http_status=500)
        timeline(connection, 2, start=T0 + timedelta(hours=1))
        body = api.get("/events/", {"order": "oldest", "status": "Failure", "page_size": 1}).body

        assert "status=Failure" in body["next"]
        assert [e["status"] for e in api.get(body["next"]).body["results"]] == ["Failure"]


@pytest.mark.django_db(transaction=True)
def test_an_export_while_entra_writes_sees_every_event_exactly_once(api, connection, record):
    """
    A writer thread records events (its own database connection, each event committed on its
    own) while the test follows the export's next links: a real concurrent writer, not inserts
    between two fetches.
    """
    if database.vendor != "postgresql":
        pytest.skip("SQLite's test database is one in-memory database: no second writer to race")
    total, written, failures = 60, [], []

    def write():
        try:
            for _ in range(total):
                written.append(record(connection).pk)
                time.sleep(0.005)
        except Exception as exc:  # reported below: the assertion names it
            failures.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    seen, url, params = [], "/events/", {"order": "oldest", "page_size": 7}
    deadline = time.monotonic() + 60
    while (writer.is_alive() or len(seen) < len(written)) and time.monotonic() < deadline:
        body = api.get(url, params).body
        seen += ids(body["results"])
        url, params = body["next"], None
    writer.join(10)

    assert failures == []
    assert seen == sorted(written) == written
    assert ProvisioningEvent.objects.count() == total


@pytest.mark.django_db
class TestTimeBoundsInIdOrder:
    """
    `since`/`until` select by time while pages go by id, and the two agree only nearly: a
    recording that took a moment longer has a later id but an earlier time. The selection is
    by time, exactly, whatever the order.
    """

    @pytest.fixture
    def out_of_order(self, connection, record):
        old = record(connection, at=T0 - timedelta(hours=2))
        late = record(connection, at=T0 + timedelta(minutes=5))
        early = record(connection, at=T0 + timedelta(minutes=1))  # a later id, an earlier time
        recent = record(connection, at=T0 + timedelta(hours=2))
        return {"old": old, "late": late, "early": early, "recent": recent}

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"order": "oldest", "since": "2026-11-02T09:00:00Z"}, ["late", "early", "recent"]),
            ({"order": "oldest", "since": "2026-11-02T09:02:00Z"}, ["late", "recent"]),
            ({"order": "oldest", "until": "2026-11-02T09:02:00Z"}, ["old", "early"]),
            ({"until": "2026-11-02T09:02:00Z"}, ["early", "old"]),
            ({"until": "2026-11-02T09:06:00Z"}, ["early", "late", "old"]),
            ({"since": "2026-11-02T09:02:00Z"}, ["recent", "late"]),
        ],
    )
    def test_the_events_selected_are_those_of_the_time_bound(self, api, out_of_order, params, expected):
        assert ids(api.get("/events/", params).body["results"]) == [
            out_of_order[name].pk for name in expected
        ]
