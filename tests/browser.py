"""Real-browser fixtures: Debian's chromium through Playwright, the live registration app, axe-core.

``tests/conftest.py`` loads this module as a pytest plugin, so its fixtures (``browser``,
``page``, ``mobile_page``, ``live_settings``, ``live_app``) are there for every test; a
module imports only the helpers it calls, e.g. ``from tests.browser import axe_violations``.

Chromium and axe-core are installed by ``scripts/system-deps.sh``; when one is missing
the browser tests are skipped, and on CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from scripts.local_ports import free_port
from services.registration import create_app
from shared.config import Settings
from tests.conftest import ON_CI
from tests.servers import PROJECT_ROOT, HttpServer

# Debian's chromium: Playwright's own browser download does not work on these machines.
CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = PROJECT_ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# A fast failure beats Playwright's 30 s default: every page here is local.
TIMEOUT_MS = 10_000
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    # The narrowest width WCAG's reflow criterion (1.4.10) asks for, as a phone renders it.
    "mobile": {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True,
               "device_scale_factor": 2},
}


def require(path: Path, what: str) -> None:
    """Skip the test when a tool is missing; on CI fail, since there the setup is broken."""
    if path.exists():
        return
    message = f"{what} not found at {path}; `bash scripts/system-deps.sh` (as root) installs it"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the whole run; each test gets its own context."""
    require(CHROMIUM, "Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@contextmanager
def open_page(browser: Browser, viewport: str = "desktop", **context_options) -> Iterator[Page]:
    """A page in a fresh context (no cookies or storage of other tests) at a named viewport."""
    context = browser.new_context(**VIEWPORTS[viewport], **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(request, browser) -> Iterator[Page]:
    """A fresh desktop page; ``parametrize("page", ["desktop", "mobile"], indirect=True)`` picks the width."""
    with open_page(browser, getattr(request, "param", "desktop")) as fresh:
        yield fresh


@pytest.fixture
def mobile_page(browser) -> Iterator[Page]:
    """A fresh page as a 320 px wide phone shows it."""
    with open_page(browser, "mobile") as fresh:
        yield fresh


@contextmanager
def serve(app, port: int = 0) -> Iterator[HttpServer]:
    """Serve a WSGI app over real HTTP on 127.0.0.1 (a free port unless given) until the block ends."""
    server = HttpServer(app, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.server.server_close()


@pytest.fixture
def live_settings(settings) -> Settings:
    """The test settings, with the registration app's base URL on a free port.

    Pages and links (``participant_page_url``) then point at the live server. The
    form takes posts at once: it refuses those sent faster than a person types,
    and a test browser is faster.
    """
    return replace(settings, registration_base_url=f"http://127.0.0.1:{free_port()}", form_min_fill_seconds=0)


@pytest.fixture
def live_app(live_settings) -> Iterator[HttpServer]:
    """The registration app over real HTTP at ``live_settings.registration_base_url`` (``.url``)."""
    app = create_app(live_settings)
    try:
        with serve(app, urlsplit(live_settings.registration_base_url).port) as server:
            yield server
    finally:
        app.extensions["runtime"].close()


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page; return the violations of these impacts."""
    require(AXE_SCRIPT, "axe-core (npm ci in tests/axe)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the browser's debugging protocol rather than added as a
        # script tag: the pages' Content-Security-Policy refuses scripts not of their own.
        page.evaluate(AXE_SCRIPT.read_text())
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return [violation for violation in results["violations"] if violation["impact"] in impacts]


def describe_violations(violations: list[dict], where: str = "") -> str:
    """A readable account of axe violations for an assertion message: rule, help, offending elements."""
    lines = []
    for violation in violations:
        lines.append(f"{where}{violation['impact']} {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


def is_focused(target: Locator) -> bool:
    """Whether the element has the focus, also inside a shadow root (where document.activeElement is the host)."""
    return target.evaluate("element => element.getRootNode().activeElement === element")


def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would; fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if is_focused(target):
            return
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def horizontal_overflow(page: Page) -> int:
    """Pixels the page is wider than the viewport (a 320 px screen must not scroll sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
