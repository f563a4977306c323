"""JSON only, except that a developer with DEBUG on also gets DRF's browsable API."""

from django.conf import settings
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer


class JsonOutsideDebug(DefaultContentNegotiation):
    # Decided per request rather than in REST_FRAMEWORK: config.settings.production turns DEBUG
    # off after base.py has built the settings.
    def select_renderer(self, request, renderers, format_suffix=None):
        if not settings.DEBUG:
            renderers = [renderer for renderer in renderers if not isinstance(renderer, BrowsableAPIRenderer)]
        return super().select_renderer(request, renderers, format_suffix)
