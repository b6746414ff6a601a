"""What a request of the registration service works with: the process's runtime, its kept answers, the reader's language."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from shared.i18n import LANGUAGES, translate, translate_plural, translator
from shared.problems import negotiated_language
from shared.runtime import Runtime
from shared.times import format_moment, format_when
from services.registration.web.public_cache import PublicAnswers


def current_runtime() -> Runtime:
    """The process's database, Redis, broker and settings (made once by ``create_app``)."""
    return current_app.extensions["runtime"]


def public_answers() -> PublicAnswers:
    """The public answers and registration rules this process keeps between requests."""
    return current_app.extensions["public_answers"]


def page_language() -> str:
    """Language of a page: ?lang=, else the browser's preference, else German."""
    return negotiated_language(request.values.get("lang"))


def page_text(message: str, **params) -> str:
    """A catalog text in the page's language."""
    return translate(page_language(), message, **params)


def page_plural(singular: str, plural: str, number: int, **params) -> str:
    """A catalog text with a number, in the page's language."""
    return translate_plural(page_language(), singular, plural, number, **params)


def template_helpers() -> dict:
    """What every template of the service may use: ``lang``, ``_()`` and its kin, ``when(seminar)``, ``at(moment, zone)``."""
    language = page_language() if request else "de"
    return {
        "lang": language,
        **translator(language).template_globals(),
        "when": lambda seminar: format_when(seminar.starts_at, seminar.ends_at, seminar.timezone, language),
        "at": lambda moment, zone: format_moment(moment, zone, language),
    }


def request_language() -> str | None:
    """The language a JSON body asks for, if any (so that its errors come in that language)."""
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except HTTPException:  # e.g. the body is over the size limit
        return None
    if isinstance(body, dict) and body.get("language") in LANGUAGES:
        return body["language"]
    return None
