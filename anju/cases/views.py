"""Pages of the closed loop."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from anju.cases import queries


@login_required
def case_detail(request, number):
    case = queries.get_case(request.user, number)
    return render(request, "cases/case.html", {"case": case, "events": queries.timeline(case)})
