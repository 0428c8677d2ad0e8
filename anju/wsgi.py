"""WSGI entry point (waitress in `anju serve`, or any WSGI server in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
application = get_wsgi_application()
