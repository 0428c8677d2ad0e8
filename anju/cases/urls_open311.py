"""Open311 GeoReport v2: every resource ends in .xml or .json (the answer's format)."""

from django.urls import re_path

from anju.cases import open311

FORMAT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^open311/v2/discovery" + FORMAT, open311.discovery, name="open311_discovery"),
    re_path(r"^open311/v2/services" + FORMAT, open311.services, name="open311_services"),
    re_path(r"^open311/v2/services/(?P<code>[\w-]+)" + FORMAT, open311.service_definition, name="open311_service"),
    re_path(r"^open311/v2/requests" + FORMAT, open311.service_requests, name="open311_requests"),
    re_path(
        r"^open311/v2/requests/(?P<number>[\w-]+)" + FORMAT, open311.service_request_detail, name="open311_request"
    ),
    re_path(r"^open311/v2/tokens/(?P<token>[\w-]+)" + FORMAT, open311.request_id_from_token, name="open311_token"),
    re_path(r"^open311/v2/servicerequestupdates" + FORMAT, open311.request_updates, name="open311_updates"),
]
