"""The registration form of the server-rendered pages: the page that shows it, and what a posted form leads to.

The seminar page (``pages``) and the embedded iframe page (``embed``) both show
this form and post to it: a signed form token, a honeypot field and a minimum
fill time keep bots out without a third-party service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, render_template, request, url_for
from marshmallow import ValidationError

from shared.db import read_session
from shared.i18n import N_, translate
from shared.models import QuestionKind
from shared.problems import Refusal, problem_text, translate_field_errors
from shared.tokens import form_token_age, make_form_token
from services.registration.domain.consent import consent_text
from services.registration.domain.public_seminars import find_public_seminar
from services.registration.domain.refusals import AnswersInvalid
from services.registration.domain.registration_window import closed_reason
from services.registration.domain.registrations import register
from services.registration.public.schemas import RegistrationInput
from services.registration.web.context import current_runtime, page_language, public_answers

FORM_EXPIRED = N_("Das Formular ist abgelaufen. Bitte senden Sie es erneut.")


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
    return FormPost(status=outcome.answer.value)


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


def render_registered(event_id: int, template: str = "registered.html"):
    """The page after a registration (``template``: the public page or the embedded one)."""
    with read_session(current_runtime().sessions) as session:
        seminar = find_public_seminar(session, event_id)
        if seminar is None:
            abort(404)
        status = request.args.get("status", "pending")
        return render_template(template, seminar=seminar, status=status)


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
