"""Fixtures for the browser tests: one Chromium per session, a fresh context per test, a live server.

Debian's Chromium (/usr/bin/chromium) is driven through Playwright's sync API; no browser is ever
downloaded. Without it the tests are skipped, unless ANJU_REQUIRE_BROWSER=1 (set in CI), where
they fail instead, so that they can never silently vanish.
"""

import importlib
import os
from pathlib import Path

import pytest

# Playwright's sync API drives the browser from an asyncio event loop that it keeps in this (the
# main) thread, so while it is started Django sees "a running event loop" here and refuses every
# synchronous ORM call from the test thread (fixtures, assertions, the flush after each test) with
# SynchronousOnlyOperation. Nothing here runs as a coroutine and the live server answers from its
# own threads, so the check does not apply: switch it off for this test session.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent


def _required() -> bool:
    return os.environ.get("ANJU_REQUIRE_BROWSER", "") == "1"


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium); set ANJU_REQUIRE_BROWSER=1 to fail instead"
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config, items):
    """Skip this directory's tests up front (before any database is built) when there is no browser."""
    reason = _unavailable()
    if reason is None or _required():
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so a fixture's teardown knows whether the test failed."""
    report = yield
    setattr(item, f"_anju_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    reason = _unavailable()
    if reason is not None:
        if _required():
            pytest.fail(f"ANJU_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


# --- The database ----------------------------------------------------------------------------------
#
# The live server answers from other threads (and, on PostgreSQL, other connections), so these tests
# need real commits: pytest-django's transactional_db, which empties every table after each test
# with Django's flush. But the audit log is append-only: migration core/0002 installs triggers that
# refuse DELETE (SQLite) and DELETE/TRUNCATE (PostgreSQL) on core_auditevent, so that flush fails,
# and it would also remove the AuditHead row the same migration creates, which every audit write
# needs. So, around each browser test: triggers and head row (re)installed before it, exactly as
# the migration does it, and the triggers dropped after it, just before the flush; once the last
# browser test has been flushed, they are put back for whatever tests run next in the session.

_AUDIT_GUARDS = importlib.import_module("anju.core.migrations.0002_audit_append_only")


class _Executor:
    """The part of a schema editor the migration's functions use: a connection and execute()."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql, params=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)


def _drop_audit_guards() -> None:
    from django.apps import apps
    from django.db import connection

    _AUDIT_GUARDS.backwards(apps, _Executor(connection))


def _install_audit_guards() -> None:
    from django.apps import apps
    from django.db import connection

    _drop_audit_guards()  # the migration's CREATE TRIGGER has no IF NOT EXISTS
    _AUDIT_GUARDS.forwards(apps, _Executor(connection))


@pytest.fixture(scope="package", autouse=True)
def _audit_guards_back_after_browser_tests(django_db_blocker):
    yield
    with django_db_blocker.unblock():
        _install_audit_guards()


@pytest.fixture(autouse=True)
def browser_db(transactional_db, live_server):
    """Committed data the live server can see, with the audit log's guards in place during the test."""
    _install_audit_guards()
    yield
    _drop_audit_guards()


# --- Pages -----------------------------------------------------------------------------------------


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught JavaScript errors of the test's pages (the `page` fixture fills it)."""
    return []


@pytest.fixture
def page(browser, live_server, tmp_path, request, js_errors):
    """A page in a fresh browser context (no cookies) on the live server; screenshot kept in tmp_path.

    The context asks for English (Accept-Language: en-US) on purpose: the product must answer in
    Chinese anyway until the user picks English with the switch.
    """
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(20_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    try:
        yield page
    finally:
        shot = tmp_path / "final.png"
        try:
            page.screenshot(path=shot, full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"no screenshot: {exc}")
        else:
            report = getattr(request.node, "_anju_report_call", None)
            if report is None or report.failed:
                print(f"screenshot of the page at the end of the test: {shot} ({page.url})")
        context.close()
