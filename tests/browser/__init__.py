"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""
