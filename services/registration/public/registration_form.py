"""The registration form of the server-rendered pages: the page that shows it, and what a posted form leads to.

The seminar page (``pages``) and the embedded iframe page (``embed``) both show
this form and post to it: a signed form token, a honeypot field and a minimum
fill time keep bots out without a third-party service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

from flask import Response, abort, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from shared.db import read_session
from shared.i18n import N_, translate
from shared.models import QuestionKind, Registration
from shared.problems import Refusal, problem_text, translate_field_errors
from shared.tokens import REGISTERED_PAGE, form_token_age, make_form_token, make_timed_token, read_timed_token
from services.registration.domain.consent import consent_text
from services.registration.domain.participant_resend import resend_to_participant
from services.registration.domain.public_seminars import find_public_seminar
from services.registration.domain.refusals import AnswersInvalid, NothingToResend, ResendTooSoon
from services.registration.domain.registration_window import closed_reason, joins_waiting_list
from services.registration.domain.registrations import register
from services.registration.public.schemas import RegistrationInput
from services.registration.web.context import current_runtime, page_language, public_answers

# How long the page after registering can send the mail again: the unconfirmed registration lapses within a day.
REGISTERED_PAGE_MAX_AGE = 2 * 24 * 3600

FORM_EXPIRED = N_("Das Formular ist abgelaufen. Bitte senden Sie es erneut.")


@dataclass(frozen=True)
class FormPost:
    """What a posted registration form led to: a status to report, or what to show again."""

    status: str | None = None
    # Signs the registration into the next page's link, so that it can name the address and send again.
    page_token: str | None = None
    errors: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    problem: str | None = None
    http_status: int = 200


def submit_form(event_id: int, language: str) -> FormPost:
    """Check the form token, the honeypot and the fill time of a posted form, then register.

    The seminar page and the embedded form (``embed``) both post here.
    """
    settings = current_runtime().settings
    age = form_token_age(settings.secret_key, request.form.get("form_token", ""), event_id,
                         settings.form_max_age_seconds)
    if age is None:
        return FormPost(problem="form_expired", http_status=400)
    if request.form.get("website") or age < settings.form_min_fill_seconds:
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
        outcome = register(current_runtime(), event_id, RegistrationInput().load(raw), kept=public_answers())
    except ValidationError as error:
        return FormPost(errors=translate_field_errors(error.messages, language), values=raw, http_status=422)
    except AnswersInvalid as invalid:
        return FormPost(errors={"answers": translate_field_errors(invalid.errors, language)}, values=raw,
                        http_status=422)
    except Refusal as refused:
        if refused.status == 404:
            abort(404)
        return FormPost(problem=refused.code, values=raw, http_status=refused.status)
    return FormPost(status=outcome.answer.value, page_token=registered_page_token(outcome.registration_id))


def registered_page_token(registration_id: int) -> str:
    """The link token of the page after registering, stamped with this moment (``participant_resend``).

    It names the seminar and the registration's random nonce, never the registration's
    id: an id would tell an address registered long ago from a new one (``answer_for``).
    """
    runtime = current_runtime()
    with read_session(runtime.sessions) as session:
        seminar_id, nonce = session.execute(select(Registration.seminar_id, Registration.token_nonce)
                                            .where(Registration.id == registration_id)).one()
    return make_timed_token(runtime.settings.secret_key, REGISTERED_PAGE, seminar_id, nonce)


def _answers_from_form(event_id: int) -> dict:
    # Form fields are named "q-<key>"; the question kinds decide the value's shape.
    with read_session(current_runtime().sessions) as session:
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


def _registered_by_token(event_id: int) -> tuple[Registration, datetime] | None:
    """The registration the page's ``t`` names and when its form was posted; None for none or a stale one."""
    runtime = current_runtime()
    found = read_timed_token(runtime.settings.secret_key, REGISTERED_PAGE, request.args.get("t", ""),
                             REGISTERED_PAGE_MAX_AGE)
    if found is None or found[0] != event_id:
        return None
    _seminar_id, nonce, posted_at = found
    with read_session(runtime.sessions) as session:
        registration = session.scalars(select(Registration).where(
            Registration.seminar_id == event_id, Registration.token_nonce == nonce,
            Registration.anonymised_at.is_(None))).first()
        return (registration, posted_at) if registration is not None else None


def render_registered(event_id: int, template: str = "registered.html", resend_endpoint: str = "pages.resend"):
    """The page after a registration (``template``: the public page or the embedded one).

    With the link's token it names the address the mail went to, says until when to
    confirm and offers to send the mail again; without one (a bot's post) it says it generally.
    """
    runtime = current_runtime()
    found = _registered_by_token(event_id)
    with read_session(runtime.sessions) as session:
        seminar = find_public_seminar(session, event_id)
        if seminar is None:
            abort(404)
        status = request.args.get("status", "pending")
        registration, posted_at = found or (None, None)
        # From the post, not from the row: an address registered before must read the same (``answer_for``).
        confirm_by = (posted_at + timedelta(hours=runtime.settings.pending_expiry_hours)
                      if posted_at and status == "pending" else None)
        return render_template(
            template, seminar=seminar, status=status,
            address=registration.email_key if registration else None,
            confirm_by=confirm_by,
            resend_action=url_for(resend_endpoint, event_id=event_id, t=request.args.get("t"), status=status,
                                  lang=page_language(), **_kept_args()) if registration else None,
            resent=request.args.get("resent"),
            mail_from=parseaddr(runtime.settings.mail_from)[1],
        )


def resend_from_registered(event_id: int, endpoint: str) -> Response:
    """Send the mail again from the page after registering, and come back to it saying how that went."""
    found = _registered_by_token(event_id)
    if found is None:
        abort(404)
    registration, posted_at = found
    try:
        resend_to_participant(current_runtime(), registration.id, since=posted_at)
        resent = "yes"
    except ResendTooSoon:
        resent = "later"
    except NothingToResend:
        resent = "ended"
    return redirect(url_for(endpoint, event_id=event_id, t=request.args.get("t"), lang=page_language(),
                            status=request.args.get("status", "pending"), resent=resent, **_kept_args()))


def _kept_args() -> dict:
    # The embedded pages carry the series they came from, for their way back.
    return {"series": request.args["series"]} if request.args.get("series") else {}


def render_seminar(event_id: int, *, template: str = "seminar.html", form_action: str | None = None,
                   errors=None, values=None, form_problem=None, status=200, **context):
    """A seminar's page with its registration form (``template``: the public page or the embedded one)."""
    language = page_language()
    with read_session(current_runtime().sessions) as session:
        seminar = find_public_seminar(session, event_id)
        if seminar is None:
            abort(404)
        reason = closed_reason(seminar)
        html = render_template(
            template,
            seminar=seminar,
            closed_reason=reason.code if reason else None,
            waiting_list=joins_waiting_list(seminar),
            closed_text=problem_text(reason.code, language)[1] if reason else None,
            errors=errors or {},
            values=values or {},
            problem_text=_problem_text(form_problem, language) if form_problem else None,
            form_token=make_form_token(current_runtime().settings.secret_key, event_id),
            consent_text=consent_text(language),
            form_action=form_action or url_for("pages.seminar_form_post", event_id=event_id, lang=language),
            **context,
        )
        return html, status


def _problem_text(code: str, language: str) -> str:
    if code == "form_expired":
        return translate(language, FORM_EXPIRED)
    return problem_text(code, language)[1]
