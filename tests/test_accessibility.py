"""The public pages in a real browser: axe-core's WCAG 2.1 AA rules, labels, keyboard use, errors, focus."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from services.registration.domain.registrations import register
from shared.db import read_session, write_transaction
from shared.demo import common_questions
from shared.links import participant_page_url
from shared.models import Question, QuestionKind, Registration, SeminarFormat
from shared.tokens import REGISTERED_PAGE, make_timed_token
from tests.browser import axe_violations, describe_violations, horizontal_overflow, open_page, tab_to
from tests.factories import make_organiser, make_seminar, make_series

LABELS = {
    "de": {"name": "Name", "email": "E-Mail-Adresse", "organisation": "Organisation oder Gemeinde",
           "first_role": "Ehrenamtlich engagiert", "second_role": "Ortsbürgermeisterin oder Ortsbürgermeister", "topic": "Förderung",
           "notes": "Anmerkungen (optional)", "recording": "Eine Aufzeichnung ist in Ordnung",
           "submit": "Verbindlich anmelden", "thanks": "Fast geschafft: Bitte bestätigen Sie Ihre Anmeldung",
           "resend": "E-Mail erneut senden", "too_soon": "Die E-Mail ist gerade erst gesendet worden."},
    "en": {"name": "Name", "email": "Email address", "organisation": "Organisation or municipality",
           "first_role": "Volunteer", "second_role": "Honorary mayor", "topic": "Funding",
           "notes": "Notes (optional)", "recording": "Recording is fine",
           "submit": "Register", "thanks": "Almost done: please confirm your registration",
           "resend": "Send the email again", "too_soon": "The email has only just been sent."},
}
CONSENT_START = {"de": "Ich stimme zu", "en": "I agree"}
# The smallest contrast WCAG 1.4.11 asks of a focus indicator against what surrounds it.
NON_TEXT_CONTRAST = 3.0


def demo_seminar(runtime) -> int:
    """A hybrid seminar of a series with one question of every kind, like the demo seminars."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, name="Deutsche Stiftung für Engagement und Ehrenamt")
        series = make_series(session, organiser, title="Kommunal Engagiert")
        questions = [
            *common_questions(),
            Question(position=3, key="topics", kind=QuestionKind.MULTIPLE_CHOICE,
                     label_de="Welche Themen interessieren Sie?", label_en="Which topics interest you?",
                     options=[{"value": "jugend", "label_de": "Jugend", "label_en": "Youth"},
                              {"value": "foerderung", "label_de": "Förderung", "label_en": "Funding"}]),
            Question(position=4, key="notes", kind=QuestionKind.LONG_TEXT,
                     label_de="Anmerkungen", label_en="Notes"),
            Question(position=5, key="recording", kind=QuestionKind.CHECKBOX, required=True,
                     label_de="Eine Aufzeichnung ist in Ordnung", label_en="Recording is fine"),
        ]
        seminar = make_seminar(
            session, organiser, series=series,
            title="Hauptamt stärkt Ehrenamt: Fachkonferenz für ländliche Räume",
            description="Die Konferenz stellt Ergebnisse und Empfehlungen vor.\n\nTeilnahme in Berlin oder online.",
            format=SeminarFormat.HYBRID, location="Tagungszentrum, Berlin-Mitte", capacity=80,
            questions=questions,
        )
        return seminar.id


def participant_url(runtime, live_settings, seminar_id: int, language: str) -> str:
    """Register someone through the domain function; return the address of their own page."""
    outcome = register(runtime, seminar_id, {
        "name": "Erika Mustermann", "email": "erika@example.org", "consent": True, "language": language,
        "answers": {"role": "verein", "recording": True},
    })
    with read_session(runtime.sessions) as session:
        nonce = session.get(Registration, outcome.registration_id).token_nonce
    return participant_page_url(live_settings, outcome.registration_id, nonce)


def stored_registrations(runtime) -> list[Registration]:
    """Every registration row in the database."""
    with read_session(runtime.sessions) as session:
        return session.scalars(select(Registration)).all()


@pytest.mark.parametrize("viewport, scheme", [("desktop", "light"), ("mobile", "light"), ("mobile", "dark")])
@pytest.mark.parametrize("language", ["de", "en"])
def test_public_pages_have_no_serious_accessibility_violations(runtime, live_app, live_settings, browser, viewport,
                                                              scheme, language):
    seminar_id = demo_seminar(runtime)
    own_page = participant_url(runtime, live_settings, seminar_id, language)
    with read_session(runtime.sessions) as session:
        registration = session.scalars(select(Registration)).one()
        token = make_timed_token(live_settings.secret_key, REGISTERED_PAGE, registration.id, registration.token_nonce)
    with write_transaction(runtime.sessions) as session:
        full_id = make_seminar(session, title="Ausgebucht", capacity=1, seats_taken=1).id
    pages = {
        "start page": f"{live_app.url}/?lang={language}",
        "seminar page with form": f"{live_app.url}/events/{seminar_id}?lang={language}",
        "full seminar, waiting list": f"{live_app.url}/events/{full_id}?lang={language}",
        "registered page": f"{live_app.url}/events/{seminar_id}/registered?status=pending&lang={language}",
        "registered page naming the address": f"{live_app.url}/events/{seminar_id}/registered?status=pending"
                                              f"&lang={language}&t={token}",
        "participant page": f"{own_page}?lang={language}",
        "cancel page": f"{own_page}/cancel?lang={language}",
        "error page": f"{live_app.url}/r/no-such-token?lang={language}",
    }
    problems = []
    with open_page(browser, viewport, color_scheme=scheme) as page:
        for name, url in pages.items():
            page.goto(url)
            # Open menus (the participant page's calendar menu): what they hold is checked too.
            page.evaluate("() => document.querySelectorAll('details').forEach(menu => { menu.open = true; })")
            problems.append(describe_violations(axe_violations(page), where=f"{name}: "))
            if page.locator("html").get_attribute("lang") != language:
                problems.append(f"{name}: <html lang> is not {language}")
            if (overflow := horizontal_overflow(page)) > 0:
                problems.append(f"{name}: {overflow} px wider than the screen")
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_form_field_has_a_label_that_finds_it(runtime, live_app, page, language):
    seminar_id = demo_seminar(runtime)
    page.goto(f"{live_app.url}/events/{seminar_id}?lang={language}")
    # Every control a person fills in; the honeypot is hidden from them on purpose.
    controls = page.locator("form :is(input, textarea, select):not([type=hidden]):not([aria-hidden=true] *)")
    # Counted, so that a selector matching nothing cannot pass: name, email, organisation,
    # five roles, two topics, notes, recording, consent.
    assert controls.count() == 13
    for index in range(controls.count()):
        control = controls.nth(index)
        label = control.evaluate("element => element.labels.length ? element.labels[0].innerText : ''")
        assert label.strip(), f"{control.evaluate('element => element.outerHTML')} has no <label>"
        found = page.get_by_label(label.strip(), exact=True)
        assert found.count() == 1 and found.evaluate("(element, control) => element === control",
                                                     control.element_handle()), label


@pytest.mark.parametrize("language", ["de", "en"])
def test_form_can_be_filled_and_sent_with_the_keyboard_alone(runtime, live_app, page, language):
    seminar_id = demo_seminar(runtime)
    labels = LABELS[language]
    page.goto(f"{live_app.url}/events/{seminar_id}?lang={language}")

    tab_to(page, page.get_by_label(labels["name"], exact=True))
    page.keyboard.type("Erika Mustermann")
    tab_to(page, page.get_by_label(labels["email"], exact=True))
    page.keyboard.type("erika@example.org")
    tab_to(page, page.get_by_label(labels["organisation"]))
    page.keyboard.type("Ortsgemeinde Kell am See")
    # Tab enters a radio group at its first option; the arrow keys choose another.
    tab_to(page, page.get_by_label(labels["first_role"], exact=True))
    page.keyboard.press("ArrowDown")
    assert page.get_by_label(labels["second_role"]).is_checked()
    tab_to(page, page.get_by_label(labels["topic"], exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_label(labels["notes"], exact=True))
    page.keyboard.type("Bitte mit Untertiteln.")
    tab_to(page, page.get_by_label(labels["recording"], exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_label(CONSENT_START[language]))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name=labels["submit"]))
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/events/{seminar_id}/registered?*")
    assert page.get_by_role("heading", level=1).inner_text() == labels["thanks"]
    assert page.get_by_text("erika@example.org").is_visible()
    # Sending the mail again works from the keyboard too; right after the first one it asks to wait.
    tab_to(page, page.get_by_role("button", name=labels["resend"]))
    page.keyboard.press("Enter")
    page.get_by_text(labels["too_soon"]).wait_for()
    [registration] = stored_registrations(runtime)
    assert (registration.name, registration.email, registration.language) == (
        "Erika Mustermann", "erika@example.org", language)
    assert registration.answers == {"organisation": "Ortsgemeinde Kell am See", "role": "ortsbuergermeister",
                                    "topics": ["foerderung"], "notes": "Bitte mit Untertiteln.",
                                    "recording": True}


def post_form(page, submit_label: str) -> int:
    """Click the form's submit button; return the HTTP status of the post."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=submit_label).click()
    return posted.value.status


def assert_error_shown_and_announced(page, control, alert) -> None:
    """The control is marked invalid and described by an error message right below it that the alert repeats."""
    assert control.get_attribute("aria-invalid") == "true"
    described_by = (control.get_attribute("aria-describedby") or "").split()
    assert described_by, "the invalid field names no error message in aria-describedby"
    message = page.locator(f"#{described_by[0]}")
    text = message.inner_text().strip()
    assert text and message.is_visible()
    # "Next to": the message starts within a line below the field (or the label that wraps a checkbox).
    field_bottom = control.evaluate("element => (element.closest('label') || element).getBoundingClientRect().bottom")
    gap = message.bounding_box()["y"] - field_bottom
    assert 0 <= gap <= 32, f"error message {text!r} is {gap} px away from its field"
    assert text in alert.inner_text()


@pytest.mark.parametrize("language", ["de", "en"])
def test_invalid_entries_are_shown_next_to_their_fields_and_announced(runtime, live_app, page, language):
    seminar_id = demo_seminar(runtime)
    labels = LABELS[language]
    page.goto(f"{live_app.url}/events/{seminar_id}?lang={language}")
    page.get_by_label(labels["email"], exact=True).fill("erika@")

    assert post_form(page, labels["submit"]) == 422
    alert = page.get_by_role("alert")
    # The summary takes the focus, so a screen reader reads it and Tab leads on to the fields.
    assert alert.evaluate("element => element === document.activeElement")
    for control in (page.get_by_label(labels["name"], exact=True), page.get_by_label(labels["email"], exact=True),
                    page.get_by_label(CONSENT_START[language])):
        assert_error_shown_and_announced(page, control, alert)
    assert page.get_by_label(labels["email"], exact=True).input_value() == "erika@"
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)

    # Corrected, but the required question is still unanswered: it is checked in a second step.
    page.get_by_label(labels["name"], exact=True).fill("Erika Mustermann")
    page.get_by_label(labels["email"], exact=True).fill("erika@example.org")
    page.get_by_label(CONSENT_START[language]).check()
    assert post_form(page, labels["submit"]) == 422
    assert_error_shown_and_announced(page, page.get_by_label(labels["recording"], exact=True),
                                     page.get_by_role("alert"))
    assert stored_registrations(runtime) == []


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours given as rgb()/rgba()."""
    def luminance(colour: str) -> float:
        channels = [float(number) / 255 for number in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# How the focused element looks, and the first opaque background behind it (white if none).
FOCUS_STYLE = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  let background = 'rgb(255, 255, 255)';
  for (let node = element.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') { background = colour; break; }
  }
  return {element: element.outerHTML.slice(0, 100), isBody: element === document.body,
          focusVisible: element.matches(':focus-visible'), outlineStyle: style.outlineStyle,
          outlineWidth: parseFloat(style.outlineWidth), outlineColor: style.outlineColor, background};
}"""


def focus_problems(page, limit: int = 60) -> tuple[int, list[str]]:
    """Tab through the page once; return how many elements took the focus and which showed it too faintly."""
    seen, problems = [], []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_STYLE)
        if focused["isBody"] or focused["element"] in seen:
            break  # past the last element: the focus left the page or came round again
        seen.append(focused["element"])
        ratio = contrast(focused["outlineColor"], focused["background"])
        if not (focused["focusVisible"] and focused["outlineStyle"] != "none" and focused["outlineWidth"] >= 2
                and ratio >= NON_TEXT_CONTRAST):
            problems.append(f"{focused['element']}: outline {focused['outlineStyle']} {focused['outlineWidth']}px "
                            f"{focused['outlineColor']} on {focused['background']} (contrast {ratio:.1f})")
    return len(seen), problems


@pytest.mark.parametrize("page", ["desktop", "mobile"], indirect=True)
def test_keyboard_focus_is_clearly_visible(runtime, live_app, live_settings, page):
    seminar_id = demo_seminar(runtime)
    own_page = participant_url(runtime, live_settings, seminar_id, "de")
    for url, at_least in ((f"{live_app.url}/events/{seminar_id}?lang=de", 12), (f"{own_page}?lang=de", 10)):
        page.goto(url)
        # Open menus (the calendar menu of the participant page), so that their links are walked too.
        page.evaluate("() => document.querySelectorAll('details').forEach(menu => { menu.open = true; })")
        focused, problems = focus_problems(page)
        assert focused >= at_least, f"only {focused} elements of {url} took the focus"
        assert not problems, "\n".join(problems)


def test_axe_check_reports_a_missing_label_and_faint_text(page):
    # Guards the check itself: were axe not run, or with the wrong rules, every page would pass.
    page.set_content('<html lang="en"><head><title>Faint</title></head><body><main><p style="color:#bbb">Faint</p>'
                     '<input type="text"></main></body></html>')
    found = {violation["id"] for violation in axe_violations(page)}
    assert found == {"color-contrast", "label"}


def test_reloading_after_a_new_feed_address_makes_no_further_address(runtime, live_app, live_settings, page):
    own_page = participant_url(runtime, live_settings, demo_seminar(runtime), "de")
    page.goto(f"{own_page}?lang=de")
    first = page.locator("#feed-url").input_value()
    page.get_by_role("button", name=re.compile("Neue Adresse erzeugen")).click()
    page.wait_for_url(re.compile("#abo$"))
    renewed = page.locator("#feed-url").input_value()
    assert renewed != first
    page.reload()  # after a POST answered with a redirect, the reload is a plain GET
    assert page.locator("#feed-url").input_value() == renewed
