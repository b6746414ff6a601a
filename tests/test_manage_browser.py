"""An organiser at a laptop: log in, find a seminar, filter attendees, download lists; axe finds no barrier."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from services.registration.domain.registrations import register
from shared.db import write_transaction
from shared.models import Role
from tests.browser import axe_violations, describe_violations, horizontal_overflow, open_page
from tests.factories import PASSWORD, add_member, berlin, make_organiser, make_seminar, make_series, person

EMAIL = "redaktion@stiftung.example"


@pytest.fixture
def organiser_page(browser):
    """A desktop page of a German browser that may run axe on the organiser pages.

    axe is injected as an inline script, which the pages' Content-Security-Policy
    rightly forbids; the test browser is told to ignore the policy.
    """
    with open_page(browser, locale="de-DE", bypass_csp=True, accept_downloads=True) as page:
        yield page


@pytest.fixture
def seminar_with_attendees(runtime) -> int:
    """A published seminar with one seat: Anna has it, Bernd waits; an editor may manage it."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, slug="stiftung", name="Deutsche Stiftung für Engagement")
        series = make_series(session, organiser, title="Kommunal Engagiert")
        seminar = make_seminar(session, organiser, series=series, title="Bürgerhaushalt", capacity=1,
                               double_opt_in=False, starts_at=berlin(2036, 12, 3, 13, 30))
        organiser_id, seminar_id = organiser.id, seminar.id
    for name, email in (("Anna Alt", "anna@example.org"), ("Bernd Berg", "bernd@example.org")):
        register(runtime, seminar_id, person(name=name, email=email))
    add_member(runtime, organiser_id, Role.EDITOR, EMAIL, name="Redaktion")
    return seminar_id


def attendee_names(page) -> list[str]:
    """The names in the attendee table, top to bottom."""
    return page.locator("#attendee-caption").locator("xpath=..").locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_organiser_logs_in_filters_attendees_and_downloads_the_lists(live_app, organiser_page, seminar_with_attendees):
    page = organiser_page
    problems = []

    def check(name: str) -> None:
        problems.append(describe_violations(axe_violations(page), where=f"{name}: "))

    page.goto(f"{live_app.url}/manage/login")
    check("login page")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/manage/stiftung/")
    check("seminar list")

    page.get_by_role("link", name="Neues Seminar").click()
    page.wait_for_url("**/seminars/new")
    check("seminar form")
    page.get_by_role("button", name="Speichern").click()  # nothing filled in
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Titel").get_attribute("aria-invalid") == "true"
    check("seminar form with errors")

    page.goto(f"{live_app.url}/manage/stiftung/")
    page.get_by_role("link", name="Bürgerhaushalt").click()
    page.wait_for_url(f"**/seminars/{seminar_with_attendees}")
    assert attendee_names(page) == ["Anna Alt", "Bernd Berg"]
    check("seminar with attendee table")

    page.get_by_label("Status").select_option("waitlisted")
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url(re.compile(r".*status=waitlisted.*"))
    assert attendee_names(page) == ["Bernd Berg"]

    page.get_by_label("Status").select_option("")
    page.get_by_label("Name oder E-Mail enthält").fill("anna")
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url(re.compile(r".*q=anna.*"))
    assert attendee_names(page) == ["Anna Alt"]

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV (;) für Excel").click()
    body = csv_download.value.path().read_bytes()
    assert csv_download.value.suggested_filename.endswith(".csv")
    assert body.startswith(b"\xef\xbb\xbf") and ";" in body.decode("utf-8-sig").splitlines()[0]
    assert "Anna Alt" in body.decode("utf-8-sig") and "Bernd Berg" in body.decode("utf-8-sig")

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="XLSX").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes())).active
    cells = [cell for row in sheet.values for cell in row]
    assert "Anna Alt" in cells and "Bernd Berg" in cells

    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def log_in_as_editor(page, live_app) -> None:
    """Log in through the login page as the seminar's editor."""
    page.goto(f"{live_app.url}/manage/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/manage/stiftung/")


def test_on_a_phone_the_seminar_page_fits_and_unregistering_asks_first(live_app, browser, runtime,
                                                                       seminar_with_attendees):
    with open_page(browser, "mobile", locale="de-DE", bypass_csp=True) as page:
        log_in_as_editor(page, live_app)
        page.goto(f"{live_app.url}/manage/stiftung/seminars/{seminar_with_attendees}")
        assert horizontal_overflow(page) == 0
        # Each value of the overview gets a readable width, not a sliver beside a long term.
        widths = page.locator("dl.facts dd").evaluate_all("list => list.map(dd => dd.getBoundingClientRect().width)")
        assert len(widths) >= 10 and min(widths) >= 0.6 * 320, widths
        problems = [describe_violations(axe_violations(page), where="seminar page: ")]

        page.get_by_role("link", name=re.compile(r"^Abmelden ….*Anna Alt$")).click()
        page.wait_for_url(re.compile(r".*/registrations/\d+/cancel$"))
        assert horizontal_overflow(page) == 0
        assert page.get_by_role("heading", name="Anna Alt abmelden?").is_visible()
        problems.append(describe_violations(axe_violations(page), where="unregister page: "))
        page.get_by_label("Nachricht an Anna Alt").fill("Wir haben Ihre Anmeldung doppelt erhalten.")
        page.get_by_role("button", name="Ja, Anna Alt abmelden").click()
        page.wait_for_url(re.compile(r".*#attendees$"))
        assert page.get_by_text("Die Person ist abgemeldet und bekommt eine Bestätigung per E-Mail.").is_visible()
        # Bernd waited for the seat and now has it.
        statuses = page.locator("#attendee-caption").locator("xpath=..").locator("tbody td:first-child").all_inner_texts()
        assert statuses == ["abgemeldet", "bestätigt"]
        problems = [problem for problem in problems if problem]
        assert not problems, "\n".join(problems)


def test_on_a_phone_in_dark_mode_moving_a_seminar_shows_old_and_new_before_it_tells_anyone(
        live_app, browser, runtime, seminar_with_attendees):
    with open_page(browser, "mobile", locale="de-DE", bypass_csp=True, color_scheme="dark") as page:
        log_in_as_editor(page, live_app)
        page.goto(f"{live_app.url}/manage/stiftung/seminars/{seminar_with_attendees}")
        page.get_by_text("Verschieben oder Ort bzw. Zugangslink ändern").click()
        page.get_by_label("Neues Datum").fill("2036-12-10")
        page.get_by_role("textbox", name="Ort (optional)").fill("Bürgerhaus Musterstadt, Raum 2")
        page.get_by_role("button", name="Weiter: Änderung prüfen").click()

        assert page.get_by_role("heading", name="Diese Änderung speichern?").is_visible()
        assert horizontal_overflow(page) == 0
        assert page.locator("dl.changes dt").all_inner_texts() == ["Zeit", "Ort"]
        time, place = page.locator("dl.changes dd").all_inner_texts()
        assert time.startswith("bisher: Mittwoch, 3. Dezember 2036") and "neu: Mittwoch, 10. Dezember 2036" in time
        assert place == "bisher: kein Ort angegeben\nneu: Bürgerhaus Musterstadt, Raum 2"
        problems = describe_violations(axe_violations(page), where="move question: ")
        page.get_by_label("Nachricht an die Teilnehmenden").fill("Der Saal wird renoviert.")
        page.get_by_role("button", name="Ja, speichern und benachrichtigen").click()

        page.wait_for_url(re.compile(rf".*/seminars/{seminar_with_attendees}$"))
        assert page.get_by_text("Gespeichert. 2 E-Mails an Teilnehmende werden gesendet.").is_visible()
        assert page.get_by_text("Mittwoch, 10. Dezember 2036").first.is_visible()
        assert not problems, problems
