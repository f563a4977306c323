"""The audit API's endpoints: thin read-only viewsets over the provisioning log's selectors."""

from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import MethodNotAllowed

from provisioning_logs.api.access import api_scope
from provisioning_logs.api.filters import CycleFilter, EventFilter
from provisioning_logs.api.pagination import ConnectionPagination, EventPagination, IdCursorPagination
from provisioning_logs.api.serializers import (
    ConnectionSerializer,
    CycleSerializer,
    EventDetailSerializer,
    EventSerializer,
)
from provisioning_logs.models import ProvisioningCycle, ProvisioningEvent
from provisioning_logs.selectors import (
    EVERY_ORGANIZATION,
    connection_list,
    connection_report,
    cycle_summary,
)


class ApiScopedViewSet(viewsets.ReadOnlyModelViewSet):
    """
    The one place where the audit API scopes a query to the caller's organization: every view
    names its rows in base_queryset(), and get_queryset() scopes them. Another organization's
    object is therefore a 404, like one that does not exist.
    """

    lookup_value_regex = r"\d+"

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        return api_scope(self.request).filter(self.base_queryset())

    def initial(self, request, *args, **kwargs):
        # Read-only: any other method is 405 before authentication, which would read its body
        # (django-oauth-toolkit looks for a token in a form body) and answer 415 for a JSON-only API.
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        # Query parameters filter lists only; an object is addressed by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Audit records of an organization: no shared or browser cache keeps them.
        add_never_cache_headers(response)
        return response


@extend_schema_view(
    list=extend_schema(summary="Provisioning events, newest first (or oldest first to export)"),
    retrieve=extend_schema(summary="One event with its steps, troubleshooting and request body"),
)
class EventViewSet(ApiScopedViewSet):
    """
    One event per SCIM request Entra sent. Oldest first (`order=oldest`) with `since` and then the
    `next` link exports everything exactly once: the last page's `next` link returns, later,
    exactly the events recorded after it.
    """

    filterset_class = EventFilter
    pagination_class = EventPagination

    def base_queryset(self):
        return ProvisioningEvent.objects.select_related("connection", "organization")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            return queryset.select_related("cycle")
        # A list shows no request body (up to 8 KB each) and little of the related rows.
        return queryset.only(*EventSerializer.columns)

    def get_serializer_class(self):
        return EventDetailSerializer if self.action == "retrieve" else EventSerializer


class SummarisedViewSet(ApiScopedViewSet):
    """Rows are serialized through a selector's summary of each (as the dashboard shows them)."""

    def summarise(self, row, now):
        raise NotImplementedError

    def get_serializer(self, instance=None, *args, **kwargs):
        now = timezone.now()
        if kwargs.get("many"):
            instance = [self.summarise(row, now) for row in instance]
        elif instance is not None:
            instance = self.summarise(instance, now)
        return super().get_serializer(instance, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="Provisioning cycles, newest first"),
    retrieve=extend_schema(summary="One provisioning cycle"),
)
class CycleViewSet(SummarisedViewSet):
    """Consecutive requests of one connection; a quiet gap of PROVISIONING_CYCLE_GAP_SECONDS ends one."""

    serializer_class = CycleSerializer
    filterset_class = CycleFilter
    pagination_class = IdCursorPagination

    def base_queryset(self):
        return ProvisioningCycle.objects.select_related("connection", "organization")

    def summarise(self, cycle, now):
        return cycle_summary(cycle, now)


@extend_schema_view(
    list=extend_schema(summary="Provisioning connections with their health and cycles"),
    retrieve=extend_schema(summary="One provisioning connection with its health and cycles"),
)
class ConnectionViewSet(SummarisedViewSet):
    """What the dashboard shows of each connection: health, the running and last cycle, 7 days."""

    serializer_class = ConnectionSerializer
    pagination_class = ConnectionPagination

    def base_queryset(self):
        return connection_list(scope=EVERY_ORGANIZATION)

    def summarise(self, connection, now):
        return connection_report(connection, now=now)
