"""A seminar's own questions: checking the answers a participant gives."""

from __future__ import annotations

from typing import Any

from shared.models import Question, QuestionKind
from services.registration.domain.refusals import AnswersInvalid

MAX_SHORT = 300
MAX_LONG = 4000


def clean_answers(questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """Return the answers keyed by question, checked against each question's rules."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    known = {question.key for question in questions}
    for key in answers:
        if key not in known:
            errors[key] = ["unknown_field"]
    for question in questions:
        value = answers.get(question.key)
        error = _check(question, value)
        if error:
            errors[question.key] = [error]
        elif not _is_empty(value):
            clean[question.key] = value.strip() if isinstance(value, str) else value
    if errors:
        raise AnswersInvalid(errors)
    return clean


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == [] or (isinstance(value, str) and not value.strip())


def _check(question: Question, value: Any) -> str | None:
    if _is_empty(value):
        return "required" if question.required else None
    allowed = set(option_values(question))
    kind = question.kind
    if kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
        if not isinstance(value, str):
            return "invalid_type"
        limit = MAX_SHORT if kind == QuestionKind.SHORT_TEXT else MAX_LONG
        return "too_long" if len(value) > limit else None
    if kind == QuestionKind.SINGLE_CHOICE:
        if not isinstance(value, str):
            return "invalid_type"
        return None if value in allowed else "invalid_choice"
    if kind == QuestionKind.MULTIPLE_CHOICE:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return "invalid_type"
        if len(set(value)) != len(value) or not set(value) <= allowed:
            return "invalid_choice"
        return None
    if kind == QuestionKind.CHECKBOX:
        return None if value is True else "invalid_type"
    return "invalid_type"


def option_values(question: Question) -> list[str]:
    """The values a choice question offers; an option stored without one (before options were checked) offers none."""
    return [option["value"] for option in question.options or []
            if isinstance(option, dict) and isinstance(option.get("value"), str)]


def public_question(question: Question) -> dict:
    """A question as forms need it."""
    return {
        "key": question.key,
        "kind": question.kind.value,
        "label_de": question.label_de,
        "label_en": question.label_en,
        "required": question.required,
        "options": question.options,
    }
