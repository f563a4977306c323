"""The benchmarks' statement counter (config.middleware.QueryCountHeaderMiddleware)."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.models import Organization
from config.middleware import QueryCountHeaderMiddleware


def two_statements(request):
    Organization.objects.count()
    Organization.objects.exists()
    return HttpResponse("ok")


@pytest.mark.django_db
def test_every_request_is_counted_by_default(settings):
    settings.QUERY_COUNT_ASKED_ONLY = False

    response = QueryCountHeaderMiddleware(two_statements)(RequestFactory().get("/"))

    assert response["X-Query-Count"] == "2"


@pytest.mark.django_db
def test_when_asked_only_a_request_that_asks_is_counted(settings):
    settings.QUERY_COUNT_ASKED_ONLY = True
    middleware = QueryCountHeaderMiddleware(two_statements)

    asked = middleware(RequestFactory().get("/", headers={"X-Query-Count": "?"}))
    not_asked = middleware(RequestFactory().get("/"))

    assert asked["X-Query-Count"] == "2"
    assert "X-Query-Count" not in not_asked
