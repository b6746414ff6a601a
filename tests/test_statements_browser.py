"""The statements and the footer in a real browser: a phone in dark mode and a desktop, axe-clean, no sideways scrolling."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from services.registration import create_app
from shared.db import write_transaction
from tests.browser import axe_violations, describe_violations, horizontal_overflow, open_page, serve
from tests.factories import make_organiser, make_seminar

# What the pages show does not depend on the database.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
VIEWS = {"phone, dark": ("mobile", "dark"), "desktop": ("desktop", "light")}


@pytest.fixture
def site(live_settings):
    """The registration app over HTTP with an operator's Impressum and privacy policy."""
    settings = replace(live_settings, operator_name="Kreisverwaltung Beispiel",
                       operator_email="barrierefreiheit@kreisverwaltung-beispiel.example",
                       operator_address="Kreisverwaltung Beispiel; Am Markt 1; 54290 Trier",
                       operator_imprint_url="https://kreis.example/impressum",
                       operator_privacy_url="https://kreis.example/datenschutz")
    app = create_app(settings)
    try:
        with serve(app, urlsplit(settings.registration_base_url).port) as server:
            yield server
    finally:
        app.extensions["runtime"].close()


def footer_links(page) -> dict[str, str]:
    """The footer's links as the reader sees them: visible text -> address."""
    links = page.locator("footer.site-footer a")
    return {links.nth(i).inner_text(): links.nth(i).get_attribute("href") for i in range(links.count())}


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("language", ["de", "en"])
def test_statements_and_a_seminar_page_read_well_with_their_footer(browser, runtime, site, view, language):
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, name="Deutsche Stiftung für Engagement und Ehrenamt",
                                   imprint_url="https://stiftung.example/impressum",
                                   privacy_policy_url="https://stiftung.example/datenschutz")
        seminar_id = make_seminar(session, organiser).id
    operator = ("https://kreis.example/impressum", "https://kreis.example/datenschutz")
    pages = {
        "accessibility statement": (f"/barrierefreiheit?lang={language}", operator),
        "Leichte Sprache": (f"/leichte-sprache?lang={language}", operator),
        "seminar page": (f"/events/{seminar_id}?lang={language}",
                         ("https://stiftung.example/impressum", "https://stiftung.example/datenschutz")),
    }
    labels = {"de": ("Barrierefreiheit", "Leichte Sprache", "Impressum", "Datenschutz"),
              "en": ("Accessibility", "Easy read", "Legal notice", "Data protection")}[language]
    viewport, scheme = VIEWS[view]
    problems = []
    with open_page(browser, viewport, locale="de-DE", color_scheme=scheme) as page:
        for name, (path, (imprint, privacy)) in pages.items():
            page.goto(site.url + path)
            problems.append(describe_violations(axe_violations(page), where=f"{name}: "))
            if (overflow := horizontal_overflow(page)) > 0:
                problems.append(f"{name}: {overflow} px wider than the screen")
            expected = dict(zip(labels, (f"/barrierefreiheit?lang={language}", f"/leichte-sprache?lang={language}",
                                         imprint, privacy)))
            if (found := footer_links(page)) != expected:
                problems.append(f"{name}: footer {found}, expected {expected}")
        # The footer's first link leads to the statement, as a reader would follow it.
        page.locator("footer.site-footer a").first.click()
        page.wait_for_url(f"**/barrierefreiheit?lang={language}")
        assert page.locator("h1").inner_text() in ("Erklärung zur Barrierefreiheit", "Accessibility statement")
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def test_leichte_sprache_is_large_text(browser, site):
    with open_page(browser, "mobile", color_scheme="dark") as page:
        page.goto(site.url + "/leichte-sprache")
        size = page.locator(".easy-read p").first.evaluate("element => parseFloat(getComputedStyle(element).fontSize)")
        body = page.locator("body").evaluate("element => parseFloat(getComputedStyle(element).fontSize)")
    assert size >= 1.2 * body
