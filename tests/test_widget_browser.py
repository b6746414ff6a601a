"""The widget and the iframe on partner pages of another origin, in a real browser.

The registration service runs on one port of 127.0.0.1, the partner websites on
others: different origins, as on the web. One chromium serves the whole module.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from scripts.local_ports import free_port
from services.registration.manage.views import embed_snippets
from shared.db import read_session, write_transaction
from shared.models import Question, QuestionKind, Registration
from tests.browser import axe_violations, describe_violations, is_focused, open_page, serve, tab_to
from tests.factories import make_organiser, make_seminar, make_series

# A partner theme that does everything wrong, everywhere outside the widget's shadow root.
HOSTILE_CSS = """
  body * { display: none !important; }
  * { color: white !important; background: white !important; font-size: 4px !important;
      font-family: "Comic Sans MS", cursive !important; }
  input, button, label, p { visibility: hidden; color: white; border: 0; }
  seminar-registration { opacity: 0 !important; margin-left: -5000px !important;
                         --seminar-accent: #6b1d5c; --seminar-font: Georgia, serif; }
"""
ACCENT = "rgb(107, 29, 92)"
TEXT_COLOUR = "rgb(26, 26, 26)"


def partner_page(service: str, body: str, css: str = "", lang: str = "de") -> str:
    """A partner website's page that loads the widget script as the snippet says."""
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Partnerverein</title>'
            f'<style>{css}</style><script src="{service}/widget.js" async></script></head>'
            # Right in <body>: "body * { display: none }" hides the widget's host, not an ancestor.
            f'<body><header><h1>Unsere Seminare</h1></header>{body}</body></html>')


def website(pages: dict[str, str]):
    """A WSGI app serving fixed HTML pages by path: the partner's web server."""
    def app(environ, start_response):
        page = pages.get(environ["PATH_INFO"])
        start_response("200 OK" if page else "404 Not Found", [("Content-Type", "text/html; charset=utf-8")])
        return [(page or "").encode()]
    return app


@contextmanager
def partner_site(port: int, pages: dict[str, str]):
    """Serve ``pages`` at http://127.0.0.1:<port>."""
    with serve(website(pages), port) as server:
        yield server.url


@pytest.fixture
def world(runtime, live_app):
    """A partner allowed to embed, a stranger who is not, and a series of two seminars (one full)."""
    partner_port, stranger_port = free_port(), free_port()
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, allowed_origins=[f"http://127.0.0.1:{partner_port}"])
        series = make_series(session, organiser, slug="kommunal-engagiert", title="Kommunal Engagiert")
        questions = [
            Question(position=1, key="organisation", kind=QuestionKind.SHORT_TEXT, required=True,
                     label_de="Organisation oder Gemeinde", label_en="Organisation or municipality"),
            Question(position=2, key="recording", kind=QuestionKind.CHECKBOX,
                     label_de="Eine Aufzeichnung ist in Ordnung", label_en="Recording is fine"),
        ]
        seminar = make_seminar(session, organiser, series=series, title="Bürgerhaushalt einfach erklärt",
                               questions=questions)
        full = make_seminar(session, organiser, series=series, title="Fördermittel für Vereine", capacity=1,
                            seats_taken=1)
        return SimpleNamespace(seminar=seminar.id, full=full.id, series=series.slug, service=live_app.url,
                               partner_port=partner_port, stranger_port=stranger_port, app=live_app.server.app)


def registrations(runtime) -> list[Registration]:
    with read_session(runtime.sessions) as session:
        return session.scalars(select(Registration).order_by(Registration.id)).all()


def shown(widget) -> str:
    """The text a widget shows (it lives in the shadow root, not in the element's own text)."""
    return widget.locator(".widget").inner_text()


def style_of(locator, prop: str) -> str:
    return locator.evaluate("(element, prop) => getComputedStyle(element)[prop]", prop)


def test_partner_registers_through_seminar_and_series_widgets_despite_hostile_css_and_without_storage(
        browser, runtime, world):
    body = (f'<seminar-registration event="{world.seminar}"></seminar-registration>'
            f'<seminar-registration series="{world.series}" lang="en"></seminar-registration>')
    with partner_site(world.partner_port, {"/": partner_page(world.service, body, HOSTILE_CSS)}) as partner, \
            open_page(browser) as page:
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(partner + "/")
        seminar_widget = page.locator(f'seminar-registration[event="{world.seminar}"]')
        series_widget = page.locator("seminar-registration[series]")

        # The partner's CSS reaches neither the host nor anything inside.
        name = seminar_widget.get_by_label("Name", exact=True)
        name.wait_for()
        assert name.is_visible() and seminar_widget.bounding_box()["x"] >= 0
        assert style_of(name, "color") == TEXT_COLOUR and style_of(name, "fontSize") == "16px"
        assert style_of(seminar_widget, "opacity") == "1"
        # A widget of one seminar has no way back to a list, and says nothing in its place.
        assert shown(seminar_widget).startswith("Anmeldung: Bürgerhaushalt einfach erklärt"), shown(seminar_widget)[:80]
        submit = seminar_widget.get_by_role("button", name="Verbindlich anmelden")
        # ... except the two custom properties the partner may set.
        assert style_of(submit, "backgroundColor") == ACCENT and "Georgia" in style_of(submit, "fontFamily")

        # Series mode lists both seminars, the full one with its waiting list.
        series_widget.get_by_text("Fördermittel für Vereine").wait_for()
        assert "Fully booked – you will go on the waiting list." in shown(series_widget)
        assert "20 seats left" in shown(series_widget)
        violations = axe_violations(page)
        assert not violations, describe_violations(violations)

        name.fill("Erika Mustermann")
        seminar_widget.get_by_label("E-Mail-Adresse").fill("erika@example.org")
        seminar_widget.get_by_label("Organisation oder Gemeinde").fill("Ortsgemeinde Kell am See")
        seminar_widget.get_by_label("Ich stimme zu").check()
        submit.click()
        seminar_widget.get_by_text("Bitte bestätigen Sie Ihre E-Mail-Adresse").wait_for()
        assert "Die E-Mail geht an erika@example.org. Keine E-Mail bekommen? Schauen Sie bitte auch im Spam-Ordner nach." \
            in shown(seminar_widget)

        series_widget.get_by_role("button", name="Register: Fördermittel für Vereine").click()
        series_widget.get_by_label("Name", exact=True).wait_for()
        assert shown(series_widget).startswith("Back to all dates\nRegistration: Fördermittel für Vereine"), shown(series_widget)[:80]
        series_widget.get_by_label("Name", exact=True).fill("John Smith")
        series_widget.get_by_label("Email address").fill("john@example.org")
        series_widget.get_by_label("I agree").check()
        # The seminar is full: the button says where the person goes.
        assert series_widget.get_by_role("button", name="Register", exact=True).count() == 0
        series_widget.get_by_role("button", name="Join the waiting list").click()
        series_widget.get_by_text("You are on the waiting list").wait_for()
        # Both widgets kept their own state: the first still shows its own result.
        assert "Bitte bestätigen Sie" in shown(seminar_widget)

        assert [(r.seminar_id, r.email, r.language, r.answers) for r in registrations(runtime)] == [
            (world.seminar, "erika@example.org", "de", {"organisation": "Ortsgemeinde Kell am See"}),
            (world.full, "john@example.org", "en", {}),
        ]
        assert registrations(runtime)[0].source_page == partner + "/"
        # Nothing was stored anywhere, and no answer of the service even tried to set a cookie.
        assert page.context.cookies() == []
        assert page.context.storage_state()["origins"] == []
        assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
        from_service = [r for r in responses if r.url.startswith(world.service)]
        assert len(from_service) >= 5  # the script, two reads and two registrations
        assert not [r.url for r in from_service if "set-cookie" in r.all_headers()]
        assert not [r.url for r in from_service if "cookie" in r.request.all_headers()]


def test_keyboard_alone_registers_at_320_px_and_server_errors_appear_next_to_the_field(browser, runtime, world):
    body = f'<seminar-registration event="{world.seminar}" lang="en"></seminar-registration>'
    with partner_site(world.partner_port, {"/": partner_page(world.service, body)}) as partner, \
            open_page(browser, "mobile") as page:
        page.goto(partner + "/")
        widget = page.locator("seminar-registration")
        email = widget.get_by_label("Email address")
        email.wait_for()

        tab_to(page, widget.get_by_label("Name", exact=True))
        assert style_of(widget.get_by_label("Name", exact=True), "outlineStyle") == "solid"  # focus is visible
        page.keyboard.type("Erika Mustermann")
        tab_to(page, email)
        page.keyboard.type("erika@example")  # the browser accepts it; the server does not
        tab_to(page, widget.get_by_label("Organisation or municipality"))
        page.keyboard.type("Ortsgemeinde Kell am See")
        tab_to(page, widget.get_by_label("Recording is fine"))
        page.keyboard.press("Space")
        tab_to(page, widget.get_by_label("I agree"))
        page.keyboard.press("Space")
        tab_to(page, widget.get_by_role("button", name="Register"))
        page.keyboard.press("Enter")

        error = widget.locator("#email-error")
        error.wait_for()
        assert error.inner_text() == "Please enter a valid email address."
        assert email.get_attribute("aria-invalid") == "true"
        assert email.get_attribute("aria-describedby") == "email-error"
        assert "Please enter a valid email address." in widget.get_by_role("alert").inner_text()
        assert is_focused(email)  # straight back to what needs correcting
        gap = error.bounding_box()["y"] - (email.bounding_box()["y"] + email.bounding_box()["height"])
        assert 0 <= gap <= 32

        page.keyboard.press("Control+A")
        page.keyboard.type("erika@example.org")
        tab_to(page, widget.get_by_role("button", name="Register"))
        page.keyboard.press("Enter")
        widget.get_by_text("Please confirm your email address").wait_for()
        done = widget.get_by_role("status").filter(has_text="Please confirm your email address")
        assert is_focused(done)
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        assert widget.bounding_box()["width"] <= 320
        [registration] = registrations(runtime)
        assert (registration.email, registration.language, registration.answers) == (
            "erika@example.org", "en", {"organisation": "Ortsgemeinde Kell am See", "recording": True})


def test_a_website_the_organiser_did_not_allow_gets_a_readable_refusal(browser, runtime, world):
    body = f'<seminar-registration event="{world.seminar}"></seminar-registration>'
    with partner_site(world.stranger_port, {"/": partner_page(world.service, body)}) as stranger, \
            open_page(browser) as page:
        page.goto(stranger + "/")
        refusal = page.locator("seminar-registration").get_by_role("alert")
        refusal.wait_for()
        assert "Diese Website darf das Anmeldeformular nicht einbetten" in refusal.inner_text()
        link = page.locator("seminar-registration").get_by_role("link", name="Zur Anmeldeseite")
        assert link.get_attribute("href") == f"{world.service}/events/{world.seminar}?lang=de"
        assert page.locator("seminar-registration").get_by_label("Name", exact=True).count() == 0
    assert registrations(runtime) == []


def test_iframe_registers_with_javascript_disabled(browser, runtime, world):
    with world.app.app_context():
        snippet = embed_snippets("Kommunal Engagiert", series_slug=world.series)["iframe"]
    pages = {"/": partner_page(world.service, snippet)}
    with partner_site(world.partner_port, pages) as partner, open_page(browser, java_script_enabled=False) as page:
        page.goto(partner + "/")
        frame = page.frame_locator("iframe")
        frame.get_by_role("link", name="Anmelden: Bürgerhaushalt einfach erklärt").click()
        frame.get_by_label("Name", exact=True).fill("Erika Mustermann")
        frame.get_by_label("E-Mail-Adresse").fill("erika@example.org")
        frame.get_by_label("Organisation oder Gemeinde").fill("Ortsgemeinde Kell am See")
        frame.get_by_label("Ich stimme zu").check()
        frame.get_by_role("button", name="Verbindlich anmelden").click()
        frame.get_by_text("Fast geschafft: Bitte bestätigen Sie Ihre Anmeldung").wait_for()
        assert page.context.cookies() == []
    [registration] = registrations(runtime)
    assert (registration.seminar_id, registration.email) == (world.seminar, "erika@example.org")


def test_iframe_fits_its_height_and_its_pages_pass_axe(browser, world):
    with world.app.app_context():
        snippet = embed_snippets("Bürgerhaushalt", event_id=world.seminar)["iframe"]
    with partner_site(world.partner_port, {"/": partner_page(world.service, snippet)}) as partner, \
            open_page(browser, "mobile") as page:
        page.goto(partner + "/")
        iframe = page.locator("iframe")
        # The snippet starts at 900 px; the page inside reports its real height.
        page.wait_for_function("() => document.querySelector('iframe').style.height !== '900px'")
        inner = page.frame_locator("iframe").locator("html").evaluate("element => element.scrollHeight")
        assert abs(iframe.bounding_box()["height"] - inner) <= 2
        for path in (f"/embed/events/{world.seminar}", f"/embed/series/{world.series}?lang=en"):
            page.goto(world.service + path)
            violations = axe_violations(page)
            assert not violations, describe_violations(violations, where=f"{path}: ")
            assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
