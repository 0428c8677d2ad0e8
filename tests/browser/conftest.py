"""Fixtures for the browser tests: one Chromium per session, a fresh context per test, a live server.

Debian's Chromium (/usr/bin/chromium) is driven through Playwright's sync API; no browser is ever
downloaded. Without it the tests are skipped, unless ANJU_REQUIRE_BROWSER=1 (set in CI), where
they fail instead, so that they can never silently vanish.
"""

import importlib
import os
import threading
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

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
        return f"{CHROMIUM} not found (apt-get install chromium)"
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
            item.add_marker(pytest.mark.skip(reason=f"{reason}; set ANJU_REQUIRE_BROWSER=1 to fail instead"))


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

    # Playwright's sync API keeps an asyncio event loop marked as running in this (the main) thread
    # from start() to stop(). Django then believes it is called from async code and refuses every
    # synchronous ORM call of the test thread (fixtures, assertions, the flush after each test, and
    # any database test that runs later in the session) with SynchronousOnlyOperation. Nothing here
    # runs as a coroutine, and the live server answers from its own threads, which have no loop:
    # the check does not apply, so it is off exactly while Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- The live server ------------------------------------------------------------------------------
#
# On SQLite the test database lives in memory, and the live server's request threads all use the
# test thread's one connection. Two requests at once (a page's map asking for grids while the session
# is saved) then interleave their savepoints on it, and one fails with "no such savepoint". A real
# deployment has a connection per thread; here requests take turns, which is what that one
# connection allows. On PostgreSQL each thread has its own connection and requests stay parallel.


class _OneRequestAtATime(ThreadedWSGIServer):
    """The live server, answering one request at a time when threads share an in-memory database."""

    _turn = threading.Lock()

    def set_app(self, application):
        if self.connections_override:
            inner = application

            def application(environ, start_response):
                with self._turn:
                    return inner(environ, start_response)

        super().set_app(application)


@pytest.fixture(scope="session", autouse=True)
def _live_server_takes_turns_on_sqlite():
    """Put the turn-taking server in place before pytest-django's live_server starts."""
    previous = LiveServerThread.server_class
    LiveServerThread.server_class = _OneRequestAtATime
    yield
    LiveServerThread.server_class = previous


# --- The database ----------------------------------------------------------------------------------
#
# The live server answers from other threads (and, on PostgreSQL, other connections), so these tests
# need real commits: pytest-django's transactional_db (which live_server implies), ending each test
# with a flush of every table. tests/conftest.py's autouse `_audit_guard` drops the audit log's
# append-only triggers just before that flush (they refuse DELETE and TRUNCATE) and puts them back
# at the start of the next test. But the flush also empties core_audithead, whose single row
# migration core/0002 creates and every audit write locks: without it the second browser test
# fails on its first audit row with AuditHead.DoesNotExist. So before each browser test, and once
# after the last one for whatever tests run next, the migration's own forwards() puts back what it
# left after `migrate` (it is idempotent: triggers if missing, head row if missing).

_AUDIT_MIGRATION = importlib.import_module("anju.core.migrations.0002_audit_append_only")


class _SchemaEditor:
    """What the migration's forwards() uses of a schema editor: the connection."""

    def __init__(self, connection):
        self.connection = connection


def _restore_migrated_audit_state() -> None:
    from django.apps import apps
    from django.db import connection

    _AUDIT_MIGRATION.forwards(apps, _SchemaEditor(connection))


@pytest.fixture(scope="package", autouse=True)
def _audit_state_back_after_browser_tests(django_db_blocker):
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        _restore_migrated_audit_state()
        # Close what this opened: on PostgreSQL an open session keeps the test database from
        # being dropped at the end of the run.
        connection.close()


@pytest.fixture(autouse=True)
def browser_db(transactional_db, live_server):
    """Committed data the live server can see, on the audit state a fresh migrate leaves."""
    _restore_migrated_audit_state()


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
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
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
