"""Request context for the audit log, and password ageing."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from anju.core.audit import current_ip


class LanguageMiddleware:
    """Chinese unless the user chose another language with the switch (a cookie).

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not consulted: a district's
    staff get the Chinese UI on any machine, and English only by asking for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class AuditContextMiddleware:
    """Remember the client address for audit rows written while serving this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Behind a proxy REMOTE_ADDR is the proxy's, and the proxy sets X-Real-IP; the header is believed
        # only from the proxies the operator names, or any client could write any address into the log.
        ip = request.META.get("REMOTE_ADDR", "")
        if ip in settings.ANJU_TRUSTED_PROXIES and request.META.get("HTTP_X_REAL_IP"):
            ip = request.META["HTTP_X_REAL_IP"]
        token = current_ip.set(ip)
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


class PasswordExpiryMiddleware:
    """Send a user whose password is older than ANJU_PASSWORD_MAX_AGE_DAYS to change it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        days = settings.ANJU_PASSWORD_MAX_AGE_DAYS
        user = getattr(request, "user", None)
        if days and user is not None and user.is_authenticated:
            changed = user.password_changed_at or user.date_joined
            allowed = {reverse("password_change"), reverse("logout")}
            if changed < timezone.now() - timedelta(days=days) and request.path not in allowed:
                if not request.path.startswith(settings.STATIC_URL):
                    return redirect("password_change")
        return self.get_response(request)
