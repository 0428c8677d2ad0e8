"""Production settings: the defaults plus HTTPS-only cookies, HSTS and 等保 level 3 password rules.

Requires ANJU_SECRET_KEY and ANJU_ALLOWED_HOSTS in the environment; TLS is ended by the front proxy.
"""

import os

from anju.settings import *  # noqa: F403
from anju.settings import AUTH_PASSWORD_VALIDATORS

SECRET_KEY = os.environ["ANJU_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = os.environ["ANJU_ALLOWED_HOSTS"].split(",")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# 等保 level 3: at least 10 characters from three of four classes, and a password ages out after 90 days.
AUTH_PASSWORD_VALIDATORS = [
    {**v, "OPTIONS": {"min_length": 10}} if v["NAME"].endswith("MinimumLengthValidator") else v
    for v in AUTH_PASSWORD_VALIDATORS
]
ANJU_PASSWORD_MAX_AGE_DAYS = 90
