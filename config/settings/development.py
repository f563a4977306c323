"""`make dev`: Django's runserver with autoreload and DEBUG on, static files from the source tree."""

from .base import *  # noqa: F403


DEBUG = True
# WhiteNoise serves static/ and the apps' files straight from the finders, re-read on change.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
