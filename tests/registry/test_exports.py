"""The XLSX export: masked, scoped to the node asked for and the user's area, audited, permission-checked."""

import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from openpyxl import load_workbook

from anju.core.models import AuditEvent
from anju.geo.models import Grid
from anju.registry import actions
from anju.registry.exports import export_xlsx
from tests.conftest import OTHER_GRID, OWN_GRID, login, token_client
from tests.registry.test_imports import id_number

COMMUNITY = OWN_GRID[:12]
OTHER_ID = id_number(2, "19700101")
OWN_ID = id_number(1)


@pytest.fixture
def people(district):
    """One person in the own grid, with a house and a residence, and one in the other street's grid."""
    own, other = Grid.objects.get(code=OWN_GRID), Grid.objects.get(code=OTHER_GRID)
    person = actions.collect_person(
        None, {"name": "张三丰", "id_number": OWN_ID, "phone": "13812345678"}, place=own.path, grid=own
    )
    actions.collect_person(
        None, {"name": "李四", "id_number": OTHER_ID, "phone": "13912345678"}, place=other.path, grid=other
    )
    house = actions.collect_house(
        None, {"community": COMMUNITY, "road": "延安三路", "door_number": "123", "building": "3", "room": "501"}
    )
    actions.check_in(None, house, person, start="2024-03-01", relation="tenant")
    return person


def sheet_values(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def export(actor, kind: str, under: str | None) -> list[list]:
    out = io.BytesIO()
    export_xlsx(actor, kind, under, out)
    return sheet_values(out.getvalue())


def test_people_export_is_masked_scoped_and_audited(people, make_user):
    officer = make_user("officer", "370203")
    rows = export(officer, "people", "370203005")
    assert rows[0][:3] == ["姓名", "身份证号", "护照号"]
    assert len(rows) == 2, "only the person under the street asked for"
    name, id_text, phone = rows[1][0], rows[1][1], rows[1][7]
    assert name == "张三丰", "an officer collects there and sees names in full"
    assert id_text == OWN_ID[:6] + "********" + OWN_ID[-4:] and phone == "138****5678"
    flat = json.dumps(rows, ensure_ascii=False, default=str)
    assert OWN_ID not in flat and "13812345678" not in flat and OTHER_ID[-4:] not in flat
    event = AuditEvent.objects.filter(action="registry.export").get()
    assert json.loads(event.detail) == {"kind": "people", "under": "370203005", "rows": 1}
    assert event.username == officer.username


def test_names_are_masked_for_who_does_not_meet_the_people(people, make_user):
    street_admin = make_user("street_admin", "370203005")
    rows = export(street_admin, "people", None)
    assert [r[0] for r in rows[1:]] == ["张**"]
    residences = export(street_admin, "residences", "370203005")
    assert residences[1][0] == "张**" and OWN_ID not in json.dumps(residences, default=str)


@pytest.mark.parametrize("kind", ["houses", "residences", "organizations", "vehicles"])
def test_every_kind_exports(people, make_user, kind):
    rows = export(make_user("officer", COMMUNITY), kind, COMMUNITY)
    assert rows[0] and len(rows) == (2 if kind in ("houses", "residences") else 1)


def test_export_refuses_outside_the_area_and_without_manage(people, make_user):
    officer = make_user("officer", COMMUNITY)
    with pytest.raises(Http404):
        export(officer, "people", OTHER_GRID)
    with pytest.raises(PermissionDenied):
        export(make_user("grid_worker", OWN_GRID), "people", OWN_GRID)
    with pytest.raises(Http404):
        export(make_user("volunteer", OWN_GRID), "people", OWN_GRID)
    assert not AuditEvent.objects.filter(action="registry.export").exists()


def test_api_export_downloads_the_masked_xlsx(people, make_user):
    officer = make_user("officer", COMMUNITY)
    client, headers = token_client(officer)
    response = client.get("/api/v1/registry/export", {"kind": "people", "under": COMMUNITY}, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(response.streaming_content)
    rows = sheet_values(content)
    assert len(rows) == 2 and OWN_ID not in json.dumps(rows, ensure_ascii=False, default=str)
    outside = client.get("/api/v1/registry/export", {"kind": "people", "under": OTHER_GRID}, **headers)
    assert outside.status_code == 404
    worker_client, worker_headers = token_client(make_user("grid_worker", OWN_GRID))
    denied = worker_client.get("/api/v1/registry/export", {"kind": "people", "under": OWN_GRID}, **worker_headers)
    assert denied.status_code == 403
    bad_kind = client.get("/api/v1/registry/export", {"kind": "aliens"}, **headers)
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "kind"


def test_export_page(people, make_user):
    client = login(make_user("officer", COMMUNITY))
    assert client.get("/registry/export/").status_code == 200
    response = client.get("/registry/export/", {"kind": "houses", "under": COMMUNITY})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert len(sheet_values(b"".join(response.streaming_content))) == 2
    assert client.get("/registry/export/", {"kind": "people", "under": OTHER_GRID}).status_code == 404
    assert login(make_user("grid_worker", OWN_GRID)).get("/registry/export/").status_code == 403
