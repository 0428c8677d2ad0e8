"""API of the registry's reports: quality figures per division and the quarterly XLSX (audited)."""

from datetime import date

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from anju.registry import reports

router = Router(tags=["registry reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PlaceOut(Schema):
    code: str
    name: str
    level: str


class FiguresOut(Schema):
    houses: int
    houses_known_use: int
    houses_known_use_percent: float | None
    people: int
    residents: int
    residents_verified_recently: int
    residents_verified_percent: float | None
    pending: int
    overdue_rentals: int
    organizations: int
    vehicles: int


class RowOut(FiguresOut):
    code: str
    name: str
    level: str


class WorkerOut(Schema):
    username: str
    name: str
    collected: int
    collected_person: int
    collected_house: int
    collected_residence: int
    collected_organization: int
    collected_vehicle: int
    check_ins: int
    verified: int


class PeriodOut(Schema):
    since: date
    until: date


class QualityOut(Schema):
    division: PlaceOut
    period: PeriodOut
    totals: FiguresOut
    rows: list[RowOut]
    workers: list[WorkerOut]


class QualityQuery(Schema):
    division: str = Field(..., min_length=2, max_length=15)
    since: date | None = None
    until: date | None = None


@router.get("/registry/quality", response=QualityOut)
def registry_quality(request, q: Query[QualityQuery]):
    """Registry quality at a division or grid in scope: its totals, one row per child, the workers'
    collection counts over `since`..`until` (default: the last 90 days). Shares are null when there is
    nothing to divide by."""
    return reports.quality(request.user, q.division, since=q.since, until=q.until)


class QuarterlyQuery(Schema):
    division: str = Field(..., min_length=2, max_length=15)
    year: int = Field(..., ge=2000, le=2100)
    quarter: int = Field(..., ge=1, le=4)


@router.get("/registry/quarterly.xlsx")
def registry_quarterly(request, q: Query[QuarterlyQuery]):
    """The quarterly collection report of a division or grid in scope as XLSX; audited as an export."""
    content = reports.quarterly_xlsx(request.user, q.division, q.year, q.quarter)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="registry-{q.division}-{q.year}Q{q.quarter}.xlsx"'
    return response
