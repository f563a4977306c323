"""
Notification e-mails: address validation and settings, who receives them, what the quarantine
mails say, failure digests (one per interval, never one per failed request), and the test e-mail's
report of what the mail server answered.

Celery runs eagerly here and Django's locmem backend collects the mail (config.settings.test);
the outbox row's on-commit hook is run with django_capture_on_commit_callbacks(execute=True),
since pytest-django's transaction never commits.
"""

from datetime import UTC, datetime, timedelta
from smtplib import SMTPDataError

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.attributes import AccountAttributes, ContactValue
from accounts.connections.models import ProvisioningConnection
from accounts.models import OrganizationRole
from accounts.services import account_create
from provisioning_logs.health import health_tick
from provisioning_logs.models import (
    Action,
    ConnectionHealth,
    NotificationSettings,
    OutboxMessage,
    OutboxStatus,
)
from provisioning_logs.notifications import (
    digests_send_due,
    effective_settings,
    notification_send_test,
    notification_settings_save,
    outbox_deliver,
    outbox_requeue,
    parse_addresses,
    recipients_for,
)
from provisioning_logs.services import EventRecord, event_record
from tests.conftest import entra_user
from tests.provisioning_logs.smtp_sink import REFUSED, TRY_AGAIN_LATER, free_port


pytestmark = pytest.mark.django_db

UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBJECT_PREFIX = "[Work Accounts] Contoso · Microsoft Entra ID: "


@pytest.fixture
def connection(scim_connection) -> ProvisioningConnection:
    return scim_connection


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def refused_three_times(connection, now) -> None:
    for second in range(3):
        event_record(
            EventRecord(
                organization=connection.organization,
                connection=connection,
                method="GET",
                path="/scim/v2/Users",
                http_status=401,
                action=Action.LOOKUP,
            ),
            now=now + timedelta(seconds=second),
        )


# Addresses ----------------------------------------------------------------------------------------


def test_parse_addresses_accepts_lines_commas_and_semicolons():
    text = "ops@contoso.com\n it@contoso.com , helpdesk@contoso.com; \n\n"
    assert parse_addresses(text) == ["ops@contoso.com", "it@contoso.com", "helpdesk@contoso.com"]


def test_parse_addresses_names_the_bad_address():
    with pytest.raises(ValidationError) as error:
        parse_addresses("ops@contoso.com\nnot-an-address\nit@contoso.com")
    assert error.value.messages == ["“not-an-address” is not a valid e-mail address."]


def test_parse_addresses_drops_duplicates_ignoring_case():
    assert parse_addresses("ops@contoso.com\nOPS@Contoso.com\nit@contoso.com\nops@contoso.com") == [
        "ops@contoso.com",
        "it@contoso.com",
    ]


def test_parse_addresses_accepts_20_addresses():
    text = "\n".join(f"ops{n}@contoso.com" for n in range(20))
    assert len(parse_addresses(text)) == 20


def test_parse_addresses_refuses_21_addresses():
    with pytest.raises(ValidationError) as error:
        parse_addresses("\n".join(f"ops{n}@contoso.com" for n in range(21)))
    assert error.value.messages == ["Enter at most 20 addresses."]


def test_parse_addresses_counts_duplicates_once_toward_the_limit():
    text = "\n".join(f"ops{n}@contoso.com" for n in range(20)) + "\nOPS0@contoso.com"
    assert len(parse_addresses(text)) == 20


# Settings -----------------------------------------------------------------------------------------


def test_notification_settings_save_stores_the_cleaned_addresses(organization, connection):
    row = notification_settings_save(
        connection=connection,
        organization=organization,
        addresses=" ops@contoso.com ; OPS@contoso.com\nit@contoso.com",
        send_on_failure=True,
        digest_interval_minutes=30,
    )
    row.refresh_from_db()
    assert (row.connection, row.addresses, row.send_on_failure, row.digest_interval_minutes) == (
        connection,
        "ops@contoso.com\nit@contoso.com",
        True,
        30,
    )


def test_notification_settings_save_updates_the_same_row(organization, connection):
    first = notification_settings_save(
        connection=connection, organization=organization, addresses="ops@contoso.com", send_on_failure=True
    )
    second = notification_settings_save(
        connection=connection, organization=organization, addresses="it@contoso.com", send_on_failure=False
    )
    assert second.pk == first.pk
    assert NotificationSettings.objects.count() == 1
    assert NotificationSettings.objects.get().address_list == ["it@contoso.com"]


def test_notification_settings_save_updates_the_organization_defaults_in_place(organization):
    notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=False
    )
    notification_settings_save(
        connection=None, organization=organization, addresses="it@contoso.com", send_on_failure=True
    )
    row = NotificationSettings.objects.get(organization=organization, connection=None)
    assert (row.address_list, row.send_on_failure) == (["it@contoso.com"], True)


def test_notification_settings_save_refuses_a_bad_address_and_saves_nothing(organization, connection):
    with pytest.raises(ValidationError):
        notification_settings_save(
            connection=connection, organization=organization, addresses="nope", send_on_failure=True
        )
    assert not NotificationSettings.objects.exists()


@pytest.mark.parametrize("minutes", [4, 7 * 24 * 60 + 1])
def test_notification_settings_save_refuses_a_digest_interval_out_of_range(organization, connection, minutes):
    with pytest.raises(ValidationError) as error:
        notification_settings_save(
            connection=connection,
            organization=organization,
            addresses="ops@contoso.com",
            send_on_failure=True,
            digest_interval_minutes=minutes,
        )
    assert error.value.messages == ["The digest interval must be between 5 minutes and 7 days."]


def test_effective_settings_without_any_row_are_empty_off_and_hourly(connection):
    assert effective_settings(connection) == ([], False, 60)


def test_effective_settings_fall_back_to_the_organization_defaults(organization, connection):
    notification_settings_save(
        connection=None,
        organization=organization,
        addresses="ops@contoso.com",
        send_on_failure=True,
        digest_interval_minutes=15,
    )
    assert effective_settings(connection) == (["ops@contoso.com"], True, 15)


def test_the_connections_own_settings_win_over_the_defaults(organization, connection):
    notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=True
    )
    notification_settings_save(
        connection=connection,
        organization=organization,
        addresses="it@contoso.com",
        send_on_failure=False,
        digest_interval_minutes=120,
    )
    assert effective_settings(connection) == (["it@contoso.com"], False, 120)


def test_connection_settings_without_addresses_use_the_default_addresses(organization, connection):
    notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=False
    )
    notification_settings_save(
        connection=connection, organization=organization, addresses="", send_on_failure=True
    )
    assert effective_settings(connection) == (["ops@contoso.com"], True, 60)


# Recipients ---------------------------------------------------------------------------------------


def test_recipients_are_the_notification_addresses(organization, connection, notified):
    assert recipients_for(connection) == ["ops@contoso.com"]


def test_recipients_fall_back_to_the_admins_emails(organization, connection, make_account):
    for user_name, email, role in [
        ("boss", "boss@contoso.com", OrganizationRole.ADMIN),
        ("deputy", "deputy@contoso.com", OrganizationRole.ADMIN),
        ("member", "member@contoso.com", OrganizationRole.MEMBER),
    ]:
        account_create(
            organization=organization,
            attributes=AccountAttributes(
                user_name=user_name, emails=(ContactValue(value=email, type="work", primary=True),)
            ),
            role=role,
        )
    assert recipients_for(connection) == ["boss@contoso.com", "deputy@contoso.com"]


def test_recipients_fall_back_to_admin_user_names_that_are_addresses(organization, connection, make_account):
    make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    make_account("member@contoso.com", organization=organization)
    assert recipients_for(connection) == ["admin@contoso.com"]


def test_no_recipient_means_no_outbox_row(connection, revoked):
    for _attempt in range(3):
        revoked.get("/Users")
    assert ConnectionHealth.objects.get(connection=connection).state == "quarantined"
    assert not OutboxMessage.objects.exists()


# What the quarantine mails say ----------------------------------------------------------------------


def test_quarantine_entered_mail(connection, revoked, notified, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(3):
            revoked.get("/Users")

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "provisioning quarantined (Invalid credentials)"
    assert message.to == ["ops@contoso.com"]
    for body in (message.body, html_of(message)):
        assert "Invalid credentials" in body
        assert "3 requests in a row were refused with HTTP 401" in body
        assert "issue a new secret token or re-authorize the connection" in body
        assert "Entra's next expected retry" in body
    assert "Reason: Invalid credentials" in message.body
    assert "What to do: issue a new secret token" in message.body
    outbox = OutboxMessage.objects.get()
    assert message.extra_headers["X-Work-Accounts-Outbox-Id"] == str(outbox.pk)
    assert (outbox.kind, outbox.status, outbox.attempts) == ("quarantine_entered", OutboxStatus.SENT, 1)


def test_quarantine_entered_mail_gives_the_start_and_entras_next_retry(
    connection, notified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        refused_three_times(connection, T0)  # the third, at 09:00:02, quarantines

    [message] = mail.outbox
    assert "Since: 2026-03-02 09:00 UTC" in message.body
    assert "Entra's next expected retry: 2026-03-02 15:00 UTC" in message.body
    assert "is in quarantine since 2026-03-02 09:00 UTC" in html_of(message)
    assert "Entra's next expected retry: 2026-03-02 15:00 UTC." in html_of(message)


def test_scim_compliance_mail_says_to_check_the_tenant_url(
    scim, connection, notified, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(3):
            scim.get("/scim/v2/Userz")

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "provisioning quarantined (SCIM compliance issue)"
    for body in (message.body, html_of(message)):
        assert "check the Tenant URL in Entra" in body


def test_quarantine_reason_changed_mail(
    scim, connection, revoked, create_user, notified, django_capture_on_commit_callbacks
):
    create_user("alice@contoso.com")
    ConnectionHealth.objects.filter(connection=connection).update(min_failures=5, failure_percent=40)
    for _attempt in range(3):
        revoked.get("/Users")
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(2):
            scim.post("/Users", entra_user("alice@contoso.com"))

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "quarantine reason changed to Too many failures"
    assert "Reason: Too many failures (was: Invalid credentials)" in message.body
    html = html_of(message)
    assert "The reason is now <strong>Too many failures</strong> (was: Invalid credentials)" in html
    for body in (message.body, html):
        assert "5 failures and 0 reference failures against 1 successes" in body


def test_quarantine_ended_mail(scim, connection, revoked, notified, django_capture_on_commit_callbacks):
    for _attempt in range(3):
        revoked.get("/Users")
    with django_capture_on_commit_callbacks(execute=True):
        scim.get("/Users")

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "provisioning is healthy again"
    for body in (message.body, html_of(message)):
        assert "left quarantine at" in body
        assert "A request succeeded again (GET /scim/v2/Users, HTTP 200)." in body


def test_connection_disabled_mail(connection, notified, django_capture_on_commit_callbacks):
    refused_three_times(connection, T0)
    with django_capture_on_commit_callbacks(execute=True):
        health_tick(now=T0 + timedelta(days=28, minutes=1))

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "provisioning disabled after 28 days in quarantine"
    for body in (message.body, html_of(message)):
        assert "has been in quarantine (Invalid credentials) for more than 28 days" in body
        assert "Clear quarantine" in body
        assert "restart provisioning in Entra" in body


def test_mails_name_the_portal_when_its_url_is_set(
    settings, connection, revoked, notified, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://accounts.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(3):
            revoked.get("/Users")
    [message] = mail.outbox
    page = (
        f"https://accounts.example.com/admin/accounts/provisioningconnection/{connection.pk}/change/#health"
    )
    assert f'<a href="{page}">{page}</a>' in html_of(message)
    assert f"Open the connection in the Work Accounts portal: {page}" in message.body


# Failure digests ----------------------------------------------------------------------------------


def fail(scim, times: int) -> None:
    for _attempt in range(times):
        assert scim.get(f"/Users/{UNKNOWN_ID}").status_code == 404


@pytest.fixture
def digests_on(organization, connection):
    return notification_settings_save(
        connection=None,
        organization=organization,
        addresses="ops@contoso.com",
        send_on_failure=True,
        digest_interval_minutes=60,
    )


def test_failures_are_never_mailed_one_by_one(
    scim, connection, digests_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fail(scim, 12)
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_many_failures_make_one_digest(scim, connection, digests_on, django_capture_on_commit_callbacks):
    fail(scim, 12)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send_due(now=timezone.now()) == 1

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "12 new provisioning failures"
    assert message.to == ["ops@contoso.com"]
    assert message.body.startswith("12 provisioning requests from")
    assert message.body.count(f"HTTP 404 Resource {UNKNOWN_ID} not found") == 12
    assert html_of(message).count("<td>HTTP 404") == 12
    assert OutboxMessage.objects.get().kind == "failure_digest"


def test_no_second_digest_within_the_interval(
    scim, connection, digests_on, django_capture_on_commit_callbacks
):
    first = timezone.now()
    fail(scim, 3)
    digests_send_due(now=first)
    fail(scim, 4)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send_due(now=first + timedelta(minutes=59)) == 0
    assert mail.outbox == []
    assert OutboxMessage.objects.count() == 1


def test_next_digest_after_the_interval_holds_only_the_new_failures(
    scim, connection, digests_on, django_capture_on_commit_callbacks
):
    first = timezone.now()
    fail(scim, 3)
    digests_send_due(now=first)
    fail(scim, 4)
    digests_send_due(now=first + timedelta(minutes=59))
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send_due(now=first + timedelta(minutes=60)) == 1

    [message] = mail.outbox
    assert message.subject == SUBJECT_PREFIX + "4 new provisioning failures"
    assert "since " in message.body
    assert OutboxMessage.objects.filter(kind="failure_digest").count() == 2


def test_no_digest_without_new_failures(scim, connection, digests_on):
    first = timezone.now()
    fail(scim, 3)
    digests_send_due(now=first)
    assert digests_send_due(now=first + timedelta(hours=2)) == 0
    assert OutboxMessage.objects.count() == 1


def test_no_digest_when_the_checkbox_is_off(
    scim, organization, connection, django_capture_on_commit_callbacks
):
    notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=False
    )
    fail(scim, 12)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_send_due(now=timezone.now()) == 0
    assert mail.outbox == []
    assert not OutboxMessage.objects.exists()


def test_the_connections_own_interval_applies(
    scim, organization, connection, digests_on, django_capture_on_commit_callbacks
):
    notification_settings_save(
        connection=connection,
        organization=organization,
        addresses="",
        send_on_failure=True,
        digest_interval_minutes=10,
    )
    first = timezone.now()
    fail(scim, 2)
    digests_send_due(now=first)
    fail(scim, 2)
    assert digests_send_due(now=first + timedelta(minutes=9)) == 0
    assert digests_send_due(now=first + timedelta(minutes=10)) == 1


# The outbox ---------------------------------------------------------------------------------------


def outbox_row(connection, *, status=OutboxStatus.PENDING, created_at=None, last_attempt_at=None, attempts=0):
    return OutboxMessage.objects.create(
        organization=connection.organization,
        connection=connection,
        kind="quarantine_entered",
        recipients=["ops@contoso.com"],
        subject="Quarantined",
        text_body="text",
        html_body="<p>html</p>",
        status=status,
        attempts=attempts,
        created_at=created_at or T0,
        last_attempt_at=last_attempt_at,
    )


def test_outbox_deliver_sends_and_marks_sent(connection):
    row = outbox_row(connection)

    assert outbox_deliver(row.pk, now=T0) == "sent"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 1, T0, "")
    [message] = mail.outbox
    assert (message.subject, message.body, html_of(message)) == ("Quarantined", "text", "<p>html</p>")


def test_outbox_deliver_never_sends_a_sent_message_again(connection):
    row = outbox_row(connection)
    outbox_deliver(row.pk)

    assert outbox_deliver(row.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_outbox_deliver_records_the_servers_refusal_and_raises(connection, smtp_sink):
    smtp_sink.set(refuse=TRY_AGAIN_LATER)
    row = outbox_row(connection)

    with pytest.raises(SMTPDataError):
        outbox_deliver(row.pk, now=T0)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_attempt_at, row.last_error) == (
        OutboxStatus.FAILING,
        1,
        T0,
        "SMTPDataError: (451, b'4.3.0 try again later')",
    )


def test_a_refused_mail_is_not_retried_inside_the_request_when_tasks_run_eagerly(
    connection, revoked, notified, smtp_sink, django_capture_on_commit_callbacks
):
    # Without a broker the task runs in the SCIM request's on-commit hook: one attempt there,
    # never the task's retries one after the other while the request waits.
    smtp_sink.set(refuse=TRY_AGAIN_LATER)
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [revoked.get("/Users").status_code for _attempt in range(3)]

    assert statuses == [401, 401, 401]
    assert smtp_sink.refusals == [TRY_AGAIN_LATER]
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts) == (OutboxStatus.FAILING, 1)


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The outbox ids handed to Celery by outbox_requeue."""
    ids = []
    monkeypatch.setattr("provisioning_logs.notifications.queue_delivery", ids.append)
    return ids


def test_requeue_queues_pending_messages_older_than_a_minute(connection, queued):
    old = outbox_row(connection, created_at=T0 - timedelta(minutes=2))
    outbox_row(connection, created_at=T0 - timedelta(seconds=30))

    assert outbox_requeue(now=T0) == 1
    assert queued == [old.pk]


def test_requeue_leaves_sent_messages_alone(connection, queued):
    outbox_row(connection, status=OutboxStatus.SENT, created_at=T0 - timedelta(hours=1))
    assert outbox_requeue(now=T0) == 0
    assert queued == []


def test_requeue_leaves_a_failing_message_to_its_retrying_task(connection, queued):
    # Its task retries it with backoff (at most 10 minutes apart); queuing it again every minute
    # would start one more retry chain each time.
    outbox_row(
        connection,
        status=OutboxStatus.FAILING,
        created_at=T0 - timedelta(hours=1),
        last_attempt_at=T0 - timedelta(minutes=9),
        attempts=7,
    )
    assert outbox_requeue(now=T0) == 0
    assert queued == []


def test_requeue_queues_a_failing_message_whose_retries_stopped(connection, queued):
    row = outbox_row(
        connection,
        status=OutboxStatus.FAILING,
        created_at=T0 - timedelta(hours=3),
        last_attempt_at=T0 - timedelta(minutes=16),
        attempts=21,
    )
    assert outbox_requeue(now=T0) == 1
    assert queued == [row.pk]


# The test e-mail ----------------------------------------------------------------------------------


def test_send_test_reports_acceptance(connection):
    ok, message = notification_send_test(connection=connection, addresses=["ops@contoso.com"])

    assert (ok, message) == (True, "The mail server accepted the test e-mail for ops@contoso.com.")
    [sent] = mail.outbox
    assert sent.subject == SUBJECT_PREFIX + "test e-mail"
    assert "Microsoft Entra ID" in sent.body
    assert "<h2>Test e-mail</h2>" in html_of(sent)


def test_send_test_without_addresses_sends_nothing(connection):
    assert notification_send_test(connection=connection, addresses=[]) == (
        False,
        "Enter at least one notification e-mail address first.",
    )
    assert mail.outbox == []


def test_send_test_over_smtp_reports_acceptance(connection, smtp_sink):
    ok, message = notification_send_test(
        connection=connection, addresses=["ops@contoso.com", "it@contoso.com"]
    )

    assert (ok, message) == (
        True,
        "The mail server accepted the test e-mail for ops@contoso.com, it@contoso.com.",
    )
    [received] = smtp_sink.messages
    assert received.rcpt_tos == ("ops@contoso.com", "it@contoso.com")
    assert received.subject == SUBJECT_PREFIX + "test e-mail"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (TRY_AGAIN_LATER, "SMTPDataError: (451, b'4.3.0 try again later')"),
        (REFUSED, "SMTPDataError: (554, b'5.7.1 message refused')"),
    ],
)
def test_send_test_reports_the_servers_refusal(connection, smtp_sink, answer, expected):
    smtp_sink.set(refuse=answer)

    ok, message = notification_send_test(connection=connection, addresses=["ops@contoso.com"])

    assert (ok, message) == (False, f"The mail server did not accept the test e-mail: {expected}")
    assert smtp_sink.messages == []


def test_send_test_reports_an_unreachable_server(settings, connection):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there

    ok, message = notification_send_test(connection=connection, addresses=["ops@contoso.com"])

    assert ok is False
    assert message == (
        "The mail server did not accept the test e-mail: "
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_turning_failure_emails_on_reports_only_failures_from_then_on(scim, organization, create_user):
    from provisioning_logs.models import ConnectionHealth, ProvisioningEvent
    from provisioning_logs.notifications import notification_settings_save

    create_user("alice@contoso.com")
    assert scim.post("/Users", {"userName": "alice@contoso.com"}).status_code == 409
    connection = organization.connections.get()
    notification_settings_save(
        connection=connection, organization=organization, addresses="it@contoso.com", send_on_failure=True
    )
    failure = ProvisioningEvent.objects.get(status="Failure")
    assert ConnectionHealth.objects.get(connection=connection).digested_through_event >= failure.pk
