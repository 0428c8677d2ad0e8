"""API of registry files: spreadsheet imports and the masked XLSX export."""

import tempfile

from django.http import FileResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from anju.registry.actions import imports
from anju.registry.exports import export_xlsx
from anju.registry.spreadsheets import read_upload

router = Router(tags=["registry"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RowError(Schema):
    row: int
    field: str
    message: str


class ImportOut(Schema):
    accepted: bool
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowError]


@router.post("/imports", response={200: ImportOut, 422: ImportOut})
def import_file(request, kind: Form[str], file: File[UploadedFile]):
    """Import people, houses, residences or organizations from a CSV or XLSX file, all or nothing.

    200 with the counts when the file was accepted (created / updated / unchanged rows). When any row
    has a fault the whole file is refused: 422 with the same body, `accepted` false and every fault
    as {row, field, message} (row 1 is the header row); nothing is written. A file that cannot be read
    at all (too large, not CSV or XLSX, unknown encoding, more than 100,000 rows) or an unknown kind
    answers 422 {detail, field}. Needs registry.manage (403); users without the registry get 404.
    """
    result = imports.import_file(request.user, kind, file.name or "", read_upload(file))
    return Status(200 if result.accepted else 422, result.as_dict())


@router.get("/registry/export")
def export(request, kind: str, under: str | None = None):
    """The `kind` records (people, houses, residences, organizations, vehicles) in the caller's scope
    under the division or grid `under` as XLSX, masked as the pages mask them; audited.

    404 when `under` lies outside the caller's scope, 403 without registry.manage there.
    """
    out = tempfile.TemporaryFile()
    export_xlsx(request.user, kind, under, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{kind}-{under or 'all'}.xlsx", content_type=XLSX)
