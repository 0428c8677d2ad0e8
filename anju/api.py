"""The JSON API at /api/v1: one NinjaAPI, one router per app, errors always {"detail": ...}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.security import HttpBearer, django_auth

from anju.core.auth import user_for_token
from anju.core.errors import ActionError
from anju.geo.imports import ImportFailed


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` with a personal API token."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Anju API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), django_auth],
    docs_url="/docs",
)


@api.exception_handler(ActionError)
def _action_error(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status)


@api.exception_handler(ImportFailed)
def _import_failed(request, exc):
    return api.create_response(request, {"detail": exc.errors}, status=400)


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return api.create_response(request, {"detail": "You may not do this."}, status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


from anju.core.api import router as core_router  # noqa: E402
from anju.geo.api import router as geo_router  # noqa: E402

api.add_router("", core_router)
api.add_router("", geo_router)
