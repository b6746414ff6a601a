"""Server-rendered pages: seminar list, seminar page with its form, the participant's own page."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from shared.db import read_session
from shared.ical import google_calendar_url, make_calendar, seminar_event
from shared.links import (
    google_subscribe_url,
    outlook_subscribe_url,
    personal_feed_url,
    series_feed_url,
    webcal_url,
)
from shared.models import QuestionKind, Registration, RegistrationStatus
from shared.i18n import N_, translate, translate_plural, translator
from shared.problems import negotiated_language, problem_text, translate_field_errors
from shared.tokens import REGISTRATION_PAGE, form_token_age, make_form_token, read_token
from shared.times import format_when
from services.registration.consent import consent_text
from services.registration.questions import AnswersInvalid
from services.registration.registrations import (
    RegistrationRefused,
    cancel_registration,
    confirm_address,
    register,
    renew_feed_link,
)
from services.registration.schemas import RegistrationInput
from services.registration.seminars import find_public_seminar, list_public_seminars, window_problem

pages = Blueprint("pages", __name__, template_folder="templates")

# A person needs a few seconds to fill in the form; bots post at once.
MIN_FILL_SECONDS = 2
MAX_FORM_AGE_SECONDS = 24 * 3600


def _runtime():
    return current_app.extensions["runtime"]


def page_language() -> str:
    """Language of a page: ?lang=, else the browser's preference, else German."""
    return negotiated_language(request.values.get("lang"))


def page_text(message: str, **params) -> str:
    """A catalog text in the page's language."""
    return translate(page_language(), message, **params)


def page_plural(singular: str, plural: str, number: int, **params) -> str:
    """A catalog text with a number, in the page's language."""
    return translate_plural(page_language(), singular, plural, number, **params)


@pages.app_context_processor
def _template_helpers():
    language = page_language() if request else "de"
    return {
        "lang": language,
        **translator(language).template_globals(),
        "when": lambda seminar: format_when(seminar.starts_at, seminar.ends_at, seminar.timezone, language),
    }


@pages.get("/")
def index():
    """Start page: the upcoming seminars with links to their registration forms."""
    with read_session(_runtime().sessions) as session:
        seminars = list_public_seminars(session)
        return render_template("index.html", seminars=seminars)


@pages.get("/events/<int:event_id>")
def seminar_page(event_id: int):
    """A seminar's public page with its registration form."""
    return render_seminar(event_id)


@pages.post("/events/<int:event_id>")
def seminar_form_post(event_id: int):
    """Registration by plain form post (works without JavaScript)."""
    language = page_language()
    posted = submit_form(event_id, language)
    if posted.status:
        return redirect(url_for("pages.registered", event_id=event_id, status=posted.status, lang=language))
    return render_seminar(event_id, errors=posted.errors, values=posted.values, form_problem=posted.problem,
                          status=posted.http_status)


@dataclass(frozen=True)
class FormPost:
    """What a posted registration form led to: a status to report, or what to show again."""

    status: str | None = None
    errors: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    problem: str | None = None
    http_status: int = 200


def submit_form(event_id: int, language: str) -> FormPost:
    """Check the form token, the honeypot and the fill time of a posted form, then register.

    The seminar page and the embedded form (``embed``) both post here.
    """
    runtime = _runtime()
    age = form_token_age(runtime.settings.secret_key, request.form.get("form_token", ""), event_id,
                         MAX_FORM_AGE_SECONDS)
    if age is None:
        return FormPost(problem="form_expired", http_status=400)
    if request.form.get("website") or age < MIN_FILL_SECONDS:
        # A filled honeypot or a post faster than a person types: answer like a
        # success so that bots learn nothing, but store nothing.
        return FormPost(status="pending")
    raw = {
        "name": request.form.get("name", ""),
        "email": request.form.get("email", ""),
        "consent": request.form.get("consent") == "yes",
        "language": language,
        "answers": _answers_from_form(event_id),
        "source_page": request.referrer[:500] if request.referrer else None,
    }
    try:
        outcome = register(runtime, event_id, RegistrationInput().load(raw),
                           kept=current_app.extensions["public_answers"])
    except ValidationError as error:
        return FormPost(errors=translate_field_errors(error.messages, language), values=raw, http_status=422)
    except AnswersInvalid as invalid:
        return FormPost(errors={"answers": translate_field_errors(invalid.errors, language)}, values=raw,
                        http_status=422)
    except RegistrationRefused as refused:
        if refused.status == 404:
            abort(404)
        return FormPost(problem=refused.code, values=raw, http_status=refused.status)
    return FormPost(status=outcome.status.value)


def _answers_from_form(event_id: int) -> dict:
    # Form fields are named "q-<key>"; the question kinds decide the value's shape.
    with read_session(_runtime().sessions) as session:
        seminar = find_public_seminar(session, event_id)
        questions = list(seminar.questions) if seminar else []
    answers = {}
    for question in questions:
        name = f"q-{question.key}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            answers[question.key] = request.form.getlist(name)
        elif question.kind == QuestionKind.CHECKBOX:
            answers[question.key] = request.form.get(name) == "yes"
        else:
            answers[question.key] = request.form.get(name, "")
    return answers


@pages.get("/events/<int:event_id>/registered")
def registered(event_id: int):
    """What happens next after a registration."""
    return render_registered(event_id)


def render_registered(event_id: int, template: str = "registered.html"):
    """The page after a registration (``template``: the public page or the embedded one)."""
    with read_session(_runtime().sessions) as session:
        seminar = find_public_seminar(session, event_id)
        if seminar is None:
            abort(404)
        status = request.args.get("status", "pending")
        return render_template(template, seminar=seminar, status=status)


def render_seminar(event_id: int, *, template: str = "seminar.html", form_action: str | None = None,
                   errors=None, values=None, form_problem=None, status=200, **context):
    """A seminar's page with its registration form (``template``: the public page or the embedded one)."""
    runtime = _runtime()
    language = page_language()
    with read_session(runtime.sessions) as session:
        seminar = find_public_seminar(session, event_id)
        if seminar is None:
            abort(404)
        closed_reason = window_problem(seminar)
        html = render_template(
            template,
            seminar=seminar,
            closed_reason=closed_reason,
            closed_text=problem_text(closed_reason, language)[1] if closed_reason else None,
            errors=errors or {},
            values=values or {},
            problem_text=_problem_text(form_problem, language) if form_problem else None,
            form_token=make_form_token(runtime.settings.secret_key, event_id),
            consent_text=consent_text(language),
            form_action=form_action or url_for("pages.seminar_form_post", event_id=event_id, lang=language),
            **context,
        )
        return html, status


FORM_EXPIRED = N_("Das Formular ist abgelaufen. Bitte senden Sie es erneut.")


def _problem_text(code: str, language: str) -> str:
    if code == "form_expired":
        return translate(language, FORM_EXPIRED)
    return problem_text(code, language)[1]


@pages.get("/r/<token>")
def participant_page(token: str):
    """The participant's own page: status, seminar, calendar links, confirm and cancel."""
    registration = _registration_for(token)
    settings = _runtime().settings
    seminar = registration.seminar
    feed_url = personal_feed_url(settings, registration.id, registration.feed_nonce)
    return render_template(
        "participant.html",
        registration=registration,
        seminar=seminar,
        token=token,
        google_url=google_calendar_url(seminar, settings),
        feed=_subscription_links(feed_url, "Meine Seminare"),
        series_feed=_subscription_links(series_feed_url(settings, seminar.series.slug), seminar.series.title)
        if seminar.series else None,
    )


def _subscription_links(feed_url: str, name: str) -> dict[str, str]:
    return {
        "https": feed_url,
        "webcal": webcal_url(feed_url),
        "google": google_subscribe_url(feed_url),
        "outlook": outlook_subscribe_url(feed_url, name),
    }


@pages.post("/r/<token>/feed")
def renew_feed(token: str):
    """Give the personal calendar feed a new address; the old one stops working at once."""
    registration = _registration_for(token)
    renew_feed_link(_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language, _anchor="abo"))


@pages.post("/r/<token>/confirm")
def confirm(token: str):
    """Confirm the email address (a POST, since mail scanners follow GET links)."""
    registration = _registration_for(token)
    confirm_address(_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language))


@pages.get("/r/<token>/cancel")
def cancel_question(token: str):
    """Ask once more before cancelling: one click in a mail must not cancel by itself."""
    registration = _registration_for(token)
    return render_template("cancel.html", registration=registration, seminar=registration.seminar, token=token)


@pages.post("/r/<token>/cancel")
def cancel(token: str):
    """Cancel the registration or leave the waiting list; doing it twice is harmless."""
    registration = _registration_for(token)
    cancel_registration(_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language))


@pages.get("/r/<token>/seminar.ics")
def calendar_entry(token: str):
    """The seminar as a calendar file, with the join link once the seat is confirmed."""
    registration = _registration_for(token)
    seminar = registration.seminar
    settings = _runtime().settings
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    event = seminar_event(seminar, settings, join_url=seminar.join_url if confirmed else None)
    calendar = make_calendar(seminar.title, f"registration-{registration.id}@{settings.public_host}", [event])
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="seminar.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _registration_for(token: str) -> Registration:
    runtime = _runtime()
    found = read_token(runtime.settings.secret_key, REGISTRATION_PAGE, token)
    if found is None:
        abort(404)
    registration_id, nonce = found
    with read_session(runtime.sessions) as session:
        registration = session.get(Registration, registration_id)
        if registration is None or registration.token_nonce != nonce or registration.anonymised_at:
            abort(404)
        # Load what the pages show while the session is open.
        registration.seminar.organiser, registration.seminar.series
        return registration

