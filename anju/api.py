"""The JSON API at /api/v1: one NinjaAPI, one router per app, errors always {"detail": ...}."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.security import HttpBearer, django_auth

from anju.core.auth import user_for_token
from anju.core.errors import ActionError, InvalidField
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


@api.exception_handler(InvalidField)
def _invalid_field(request, exc):
    return api.create_response(request, {"detail": f"{exc.field}: {exc}", "field": exc.field}, status=422)


@api.exception_handler(ValidationError)
def _invalid_input(request, exc):
    """Pydantic's errors, each naming the field (the last part of its location)."""
    errors = [{"field": _field_of(e.get("loc") or ()), "message": e.get("msg", "")} for e in exc.errors]
    first = errors[0] if errors else {"field": "", "message": "invalid input"}
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return api.create_response(request, {"detail": detail, "field": first["field"], "errors": errors}, status=422)


def _field_of(location) -> str:
    """The field an error is about: the last named part of its location (not a list index)."""
    names = [str(part) for part in location if not isinstance(part, int) and not str(part).isdigit()]
    return names[-1] if names else ""


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return api.create_response(request, {"detail": "The request is too large."}, status=413)


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
from anju.registry.api import router as registry_router  # noqa: E402
from anju.registry.api_files import router as registry_files_router  # noqa: E402
from anju.registry.api_reports import router as registry_reports_router  # noqa: E402

api.add_router("", geo_router)
api.add_router("", registry_router)
api.add_router("", registry_files_router)
api.add_router("", registry_reports_router)
from anju.cases.api import router as cases_router  # noqa: E402
from anju.cases.api_indicators import router as cases_indicators_router  # noqa: E402

api.add_router("", cases_router)
api.add_router("", cases_indicators_router)
from anju.disputes.api import router as disputes_router  # noqa: E402
from anju.disputes.api_indicators import router as disputes_indicators_router  # noqa: E402

api.add_router("", disputes_router)
api.add_router("", disputes_indicators_router)
