"""Settings for the embedded default (SQLite under ANJU_HOME) and, by environment, PostgreSQL.

Everything an operator changes comes from the environment:
ANJU_HOME, ANJU_DATABASE_URL, ANJU_SECRET_KEY, ANJU_DEBUG, ANJU_ALLOWED_HOSTS, ANJU_MAP_TILES, ANJU_PUBLIC_URL.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
ANJU_HOME = Path(os.environ.get("ANJU_HOME", "anju-home")).resolve()


def _secret_key() -> str:
    """The key from the environment, else the one `anju demo`/`anju init` keeps in ANJU_HOME."""
    if key := os.environ.get("ANJU_SECRET_KEY"):
        return key
    key_file = ANJU_HOME / "secret.key"
    if key_file.exists():
        return key_file.read_text().strip()
    # No home prepared yet (tests, `anju manage` before init): a key for this process only.
    return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("ANJU_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("ANJU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "anju.core",
    "anju.geo",
    "anju.registry",
    "anju.cases",
    "anju.disputes",
    "anju.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "anju.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "anju.core.middleware.AuditContextMiddleware",
    "anju.core.middleware.PasswordExpiryMiddleware",
]

ROOT_URLCONF = "anju.urls"
WSGI_APPLICATION = "anju.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anju.core.context_processors.roles",
            ],
        },
    }
]

if os.environ.get("ANJU_DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["ANJU_DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ANJU_HOME / "anju.sqlite3",
            # WAL lets the server read while the worker writes; IMMEDIATE avoids lock upgrades failing.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["anju.core.auth.ThrottledModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "anju.core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Account security (等保 level 3): lock after 5 failures for 15 minutes; 30 minutes idle ends a session.
ANJU_LOGIN_MAX_FAILURES = 5
ANJU_LOGIN_LOCK_SECONDS = 15 * 60
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
ANJU_TOKEN_DAYS = 90

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = ANJU_HOME / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the package when collectstatic has not run (embedded default, tests).
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ANJU_HOME / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A JSON case report may carry six 5 MB photos in base64 (about 40 MB); larger bodies answer 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 48 * 1024 * 1024

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Functions (dotted paths) that also deliver each inbox message: SMS, e-mail... (core/notify.py).
ANJU_NOTIFICATION_SENDERS = [p for p in os.environ.get("ANJU_NOTIFICATION_SENDERS", "").split(",") if p]

# Office hours (local time) that time limits count in: "HH:MM-HH:MM" spans separated by commas.
ANJU_WORKING_HOURS = os.environ.get("ANJU_WORKING_HOURS", "09:00-12:00,13:30-17:30")

# Addresses of reverse proxies whose X-Real-IP header names the client (docs/operations.md).
ANJU_TRUSTED_PROXIES = [p for p in os.environ.get("ANJU_TRUSTED_PROXIES", "").split(",") if p]

# An operator on an intranet with a tile server sets this; by default the map draws on a plain background.
ANJU_MAP_TILES = os.environ.get("ANJU_MAP_TILES", "")
# The address residents reach the site at, printed into QR codes ("https://anju.example.gov.cn");
# empty: the address of the request that draws the code.
ANJU_PUBLIC_URL = os.environ.get("ANJU_PUBLIC_URL", "").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # WeasyPrint and fontTools report each rendering step at INFO: only their warnings (a missing font, say) matter.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Production sets 90 (等保 level 3); the embedded default does not age passwords.
ANJU_PASSWORD_MAX_AGE_DAYS = None
