"""API of the dispute figures: the disputes received in a period, in the reader's reach, grouped as asked."""

from datetime import date

from ninja import Field, Query, Router, Schema

from anju.disputes import indicators

router = Router(tags=["disputes"])


class PeriodOut(Schema):
    from_: date = Field(..., alias="from")
    to: date = Field(..., description="the day after the last")


class PlaceOut(Schema):
    code: str
    name: str
    level: str


class FiguresOut(Schema):
    received: int
    accepted: int
    concluded: int
    settled: int
    terminated: int
    success_rate: float | None
    within_period: int
    within_period_rate: float | None
    terms_settled: int
    performed: int
    performance_rate: float | None
    follow_up_due: int
    followed_up: int
    follow_up_rate: float | None
    court_confirmed: int
    escalated: int
    escalations: int
    escalated_to_room: int
    escalated_to_expert: int
    escalated_to_joint: int
    settled_first_level: int
    first_level_share: float | None
    repeats: int
    reviewed: int
    review_score: float | None = Field(..., description="0-100")


class RowOut(FiguresOut):
    key: str | None = Field(..., description="mediator or room id, division code, kind, level, outcome or YYYY-MM")
    name: str


class DefinitionOut(Schema):
    field: str
    heading: str
    kind: str = Field(..., description="count, rate or score")
    definition: str


class FiguresReportOut(Schema):
    period: PeriodOut
    division: PlaceOut | None
    by: str
    rows: list[RowOut]
    total: FiguresOut
    definitions: list[DefinitionOut]


class FiguresQuery(Schema):
    division: str = Field("", max_length=15, description="division or grid code in scope; default: your whole reach")
    from_: date | None = Field(None, alias="from", description="first day; default: 30 days before `to`")
    to: date | None = Field(None, description="day after the last; default: tomorrow")
    by: str = Field(
        "", max_length=16, description="mediator, room, community, street (default), kind, level, outcome, month"
    )


@router.get("/indicators/disputes", response=FiguresReportOut, by_alias=True)
def dispute_figures(request, q: Query[FiguresQuery]):
    """Figures of the disputes received in [from, to) in your reach (under `division` when given; 404 outside
    scope): the total and one row per key of `by`. Rates are shares from 0 to 1 and null when their denominator
    is 0; `definitions` says what each figure counts."""
    return indicators.figures(request.user, q.division, q.from_, q.to, q.by)
