"""The shared pager of list pages: previous / next keep the tab and filters, never the page itself."""

from django.core.paginator import Paginator
from django.template import Context, Template
from django.test import RequestFactory


def _render(query: str, number: int, drop: str = "") -> str:
    request = RequestFactory().get("/list/?" + query)
    page = Paginator(range(120), 50).get_page(number)
    tag = '{% pager page drop="' + drop + '" %}' if drop else "{% pager page %}"
    return Template("{% load paging %}" + tag).render(Context({"request": request, "page": page}))


def test_links_keep_the_filters_and_replace_the_page():
    html = _render("tab=all&kind=family&page=2&grid=", 2)
    assert 'href="?tab=all&amp;kind=family&amp;page=1" rel="prev"' in html
    assert 'href="?tab=all&amp;kind=family&amp;page=3" rel="next"' in html
    assert "2 / 3" in html
    assert "grid=" not in html  # empty filters are left out


def test_first_page_has_no_previous_link_and_named_parameters_are_dropped():
    html = _render("action=login&verify=1", 1, drop="verify")
    assert 'rel="prev"' not in html
    assert 'href="?action=login&amp;page=2" rel="next"' in html
    assert "verify" not in html


def test_a_single_page_shows_no_pager():
    request = RequestFactory().get("/list/")
    page = Paginator(range(10), 50).get_page(1)
    html = Template("{% load paging %}{% pager page %}").render(Context({"request": request, "page": page}))
    assert html.strip() == ""
