"""API of the closed loop's indicators (GB/T 30428) at a division or grid, grouped as asked."""

from datetime import date, datetime

from ninja import Field, Query, Router, Schema

from anju.cases import indicators

router = Router(tags=["cases"])


class PlaceOut(Schema):
    code: str
    name: str
    level: str


class FiguresOut(Schema):
    reported: int
    registered: int
    dispatched: int
    dispatched_on_time: int
    handled: int
    handled_on_time: int
    closed: int
    closed_on_time: int
    reworked: int
    extended: int
    overdue_unhandled: int
    rated: int
    satisfied: int
    no_rating: int
    awaiting_rating: int
    dispatch_on_time_rate: float | None
    handle_on_time_rate: float | None
    close_on_time_rate: float | None
    handling_rate: float | None
    rework_rate: float | None
    overdue_rate: float | None
    extension_rate: float | None
    satisfaction_rate: float | None
    avg_handling_hours: float | None = Field(..., description="calendar hours, dispatch to report-back")
    composite: float | None = Field(..., description="0-100")


class RowOut(FiguresOut):
    key: str | None = Field(..., description="code of the unit, grid, division or category; null: cases without one")
    name: str


class IndicatorsOut(Schema):
    division: PlaceOut
    from_: date = Field(..., alias="from")
    to: date
    by: str
    at: datetime = Field(..., description="the moment overdue cases are counted at")
    total: FiguresOut
    rows: list[RowOut]


class IndicatorsQuery(Schema):
    division: str = Field("", max_length=15, description="division or grid code in scope; default: your scope")
    from_: date | None = Field(None, alias="from", description="first day; default: 30 days before `to`")
    to: date | None = Field(None, description="day after the last; default: tomorrow")
    by: str = Field("", max_length=16, description="unit, grid, community, street, category or top_category")


@router.get("/indicators/cases", response=IndicatorsOut, by_alias=True)
def case_indicators(request, q: Query[IndicatorsQuery]):
    """Indicators of the cases reported in [from, to) at a division or grid in scope (404 outside): the
    total and one row per unit, grid, community, street, category or top category. Rates are shares from 0
    to 1 and null when their denominator is 0; definitions in docs/architecture.md ("Case indicators")."""
    return indicators.indicators(request.user, q.division, q.from_, q.to, q.by)
