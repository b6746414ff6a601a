"""The organiser pages' forms: their fields turned into the organiser API's schema input, and back.

Times are typed in the seminar's own zone and reach the schemas as UTC instants;
errors come back by form field, as sentences in the page's language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError

from shared.i18n import N_
from shared.problems import FIELD_MESSAGES, PROBLEMS, field_message, problem_text
from shared.times import from_local, local
from services.registration.manage.schemas import OrganiserInput, SeminarInput, SeminarMove, SeminarRepeat, WebhookInput
from services.registration.web.context import page_language, page_text

ZONES = frozenset(available_timezones())
# "24 h", "30 min", "2 Tage": a number and a unit; a bare number would be ambiguous.
OFFSET = re.compile(r"^(\d+)\s*([a-zäöü]+)$", re.IGNORECASE)
UNIT_MINUTES = {"min": 1, "m": 1, "h": 60, "std": 60, "stunde": 60, "stunden": 60, "hour": 60, "hours": 60,
                "d": 1440, "t": 1440, "tag": 1440, "tage": 1440, "day": 1440, "days": 1440}
MAX_REMINDERS, MAX_REMINDER_MINUTES = 5, 60 * 24 * 60
# Form fields whose domain refusal belongs next to them rather than above the form.
REFUSAL_FIELDS = {"ends_before_start": "end_time", "seminar_too_long": "end_time", "date_out_of_range": "date",
                  "capacity_below_taken": "capacity", "slug_taken": "slug"}
# The same refusals on the seminar page's move form.
MOVE_REFUSAL_FIELDS = {code: "move_" + field for code, field in REFUSAL_FIELDS.items() if field in ("end_time", "date")}

# Errors only the forms can make (the schemas' codes are in shared.problems).
FORM_MESSAGES = {
    "invalid_date": N_("Bitte ein Datum angeben (JJJJ-MM-TT)."),
    "invalid_time": N_("Bitte eine Uhrzeit angeben (z. B. 13:30)."),
    "invalid_moment": N_("Bitte Datum und Uhrzeit angeben."),
    "invalid_number": N_("Bitte eine ganze Zahl ab 0 angeben."),
    "invalid_offsets": N_("Zeiten wie „24 h, 1 h“ oder „30 min“ angeben, höchstens fünf, jeweils bis 60 Tage vorher."),
    "invalid_questions": N_("Die Fragen müssen eine JSON-Liste von Objekten sein (siehe Beispiel)."),
}


class FormInvalid(Exception):
    """Form fields that cannot be used: field name -> error codes (nested like marshmallow's)."""

    status = 422

    def __init__(self, errors: dict[str, Any]):
        super().__init__(errors)
        self.errors = errors


def load(schema: Schema, raw: dict, problems: dict | None = None, renamed: dict | None = None,
          hidden: tuple[str, ...] = ()) -> dict:
    """Validate with the API's schema; FormInvalid holds its errors by form field, plus ``problems``.

    ``problems`` are the fields that could not even be converted; they replace what
    the schema says of the same field, and ``hidden`` schema fields (derived from them) are left out.
    """
    problems = problems or {}
    try:
        data = schema.load(raw)
    except ValidationError as error:
        found = {(renamed or {}).get(name, name): codes for name, codes in error.messages.items() if name not in hidden}
        raise FormInvalid({**found, **problems}) from None
    if problems:
        raise FormInvalid(problems)
    return data


def _parse(form, name: str, parse: Callable[[str], Any], code: str, problems: dict, required: bool = False):
    """One field through ``parse``; empty gives None; a value ``parse`` refuses is noted under ``code``."""
    text = form.get(name, "").strip()
    if not text:
        if required:
            problems[name] = ["required"]
        return None
    try:
        return parse(text)
    except ValueError:
        problems[name] = [code]
        return None


def _optional(form, name: str) -> str | None:
    """A text field, None when left empty."""
    return form.get(name, "").strip() or None


def _count(text: str) -> int:
    """A whole number from 0 (seats, days)."""
    number = int(text)
    if number < 0:
        raise ValueError(text)
    return number


def _moment(zone: str) -> Callable[[str], str]:
    """A parser of a datetime-local field as an ISO instant in UTC."""
    return lambda text: _utc(datetime.fromisoformat(text), zone)


def _utc(wall_clock: datetime, zone: str) -> str:
    """A wall-clock time in ``zone`` as an ISO instant in UTC, as the schemas read it (they judge its range)."""
    try:
        return from_local(wall_clock.replace(tzinfo=None), zone).isoformat()
    except OverflowError:  # e.g. 0001-01-01 00:30 in Berlin is before the first moment datetime knows
        raise ValueError(wall_clock) from None


def _span(form, zone: str, prefix: str = "") -> dict:
    """Start and end from a date, an optional end date and two wall-clock times in the seminar's zone."""
    problems: dict = {}
    day = _parse(form, prefix + "date", date.fromisoformat, "invalid_date", problems, required=True)
    end_day = _parse(form, prefix + "end_date", date.fromisoformat, "invalid_date", problems)
    start = _parse(form, prefix + "start_time", time.fromisoformat, "invalid_time", problems, required=True)
    end = _parse(form, prefix + "end_time", time.fromisoformat, "invalid_time", problems, required=True)
    if problems:
        raise FormInvalid(problems)
    try:
        return {"starts_at": _utc(datetime.combine(day, start), zone),
                "ends_at": _utc(datetime.combine(end_day or day, end), zone)}
    except ValueError:
        raise FormInvalid({prefix + "date": ["date_out_of_range"]}) from None


def reminder_minutes(text: str) -> list[int]:
    """Reminder times as people write them ("24 h, 1 h") in minutes before the start ([1440, 60])."""
    minutes = []
    for part in filter(None, (piece.strip() for piece in re.split(r"[,;]", text))):
        match = OFFSET.match(part)
        unit = UNIT_MINUTES.get(match[2].lower().rstrip(".")) if match else None
        if unit is None or not 0 < int(match[1]) * unit <= MAX_REMINDER_MINUTES:
            raise ValueError(part)
        minutes.append(int(match[1]) * unit)
    if len(minutes) > MAX_REMINDERS:
        raise ValueError(text)
    return minutes


def reminder_text(minutes: list[int]) -> str:
    """Minutes before the start as the form shows them: [1440, 60] -> "24 h, 1 h"."""
    return ", ".join(f"{m // 60} h" if m % 60 == 0 else f"{m} min" for m in minutes)


def _questions(text: str) -> list[dict]:
    """The questions field: a JSON list of objects, checked in detail by QuestionInput."""
    questions = json.loads(text)  # json's errors are ValueErrors
    if not isinstance(questions, list) or not all(isinstance(item, dict) for item in questions):
        raise ValueError("not a list of objects")
    return questions


def seminar_input(form, *, creating: bool) -> dict:
    """The seminar form as SeminarInput's data (times converted from the seminar's zone to UTC)."""
    problems: dict = {}
    zone = form.get("timezone", "").strip()
    known_zone = zone if zone in ZONES else "Europe/Berlin"  # the schema reports the unknown zone
    raw = {
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
        "series_id": _parse(form, "series_id", int, "invalid_choice", problems),
        "format": form.get("format", ""),
        "location": _optional(form, "location"),
        "join_url": _optional(form, "join_url"),
        "timezone": zone,
        "language": form.get("language", ""),
        "capacity": _parse(form, "capacity", _count, "invalid_number", problems),
        "retention_days": _parse(form, "retention_days", _count, "invalid_number", problems),
        "waitlist_enabled": "waitlist_enabled" in form,
        "double_opt_in": "double_opt_in" in form,
        "registration_opens_at": _parse(form, "registration_opens_at", _moment(known_zone), "invalid_moment",
                                        problems),
        "registration_closes_at": _parse(form, "registration_closes_at", _moment(known_zone), "invalid_moment",
                                         problems),
        "reminder_offsets": _parse(form, "reminder_offsets", reminder_minutes, "invalid_offsets", problems) or [],
        "questions": _parse(form, "questions", _questions, "invalid_questions", problems) or [],
    }
    if creating:
        raw["publish"] = "publish" in form
    hidden: tuple[str, ...] = ()
    try:
        raw.update(_span(form, known_zone))
    except FormInvalid as invalid:
        problems.update(invalid.errors)
        hidden = ("starts_at", "ends_at")
    schema = SeminarInput() if creating else SeminarInput(exclude=("publish",))
    return load(schema, raw, problems, {"starts_at": "start_time", "ends_at": "end_time"}, hidden)


def blank_seminar(zone: str) -> dict:
    """What a new seminar starts with: the usual rules, two reminders."""
    return {"timezone": zone, "language": "de", "format": "online",
            "waitlist_enabled": "on", "double_opt_in": "on", "reminder_offsets": "24 h, 1 h"}


def seminar_values(seminar) -> dict:
    """A seminar as the form's fields, times in its own zone."""
    zone = seminar.timezone
    start, end = local(seminar.starts_at, zone), local(seminar.ends_at, zone)
    values = {
        "title": seminar.title, "description": seminar.description, "series_id": seminar.series_id or "",
        "format": seminar.format.value, "location": seminar.location or "", "join_url": seminar.join_url or "",
        "timezone": zone, "language": seminar.language,
        "capacity": "" if seminar.capacity is None else seminar.capacity,
        "retention_days": "" if seminar.retention_days is None else seminar.retention_days,
        "date": start.date().isoformat(), "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}",
        "end_date": end.date().isoformat() if end.date() != start.date() else "",
        "registration_opens_at": _local_field(seminar.registration_opens_at, zone),
        "registration_closes_at": _local_field(seminar.registration_closes_at, zone),
        "reminder_offsets": reminder_text(seminar.reminder_offsets or []),
        "questions": _questions_text(seminar.questions),
    }
    values.update({name: "on" for name in ("waitlist_enabled", "double_opt_in") if getattr(seminar, name)})
    return values


def _local_field(moment: datetime | None, zone: str) -> str:
    """An instant as a datetime-local field's value in ``zone``."""
    return f"{local(moment, zone):%Y-%m-%dT%H:%M}" if moment else ""


def _questions_text(questions) -> str:
    """A seminar's questions as the JSON the form edits."""
    if not questions:
        return ""
    rows = []
    for question in questions:
        row = {"key": question.key, "kind": question.kind.value, "label_de": question.label_de,
               "label_en": question.label_en, "required": question.required}
        if question.options:
            row["options"] = question.options
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False, indent=2)


def move_input(form, zone: str) -> dict:
    """The move form as SeminarMove's data."""
    problems: dict = {}
    raw = {"location": _optional(form, "move_location"), "join_url": _optional(form, "move_join_url"),
           "message": form.get("message", "")}
    hidden: tuple[str, ...] = ()
    try:
        raw.update(_span(form, zone, prefix="move_"))
    except FormInvalid as invalid:
        problems.update(invalid.errors)
        hidden = ("starts_at", "ends_at")
    renamed = {"starts_at": "move_start_time", "ends_at": "move_end_time", "location": "move_location",
               "join_url": "move_join_url"}
    return load(SeminarMove(), raw, problems, renamed, hidden)


def present_move_values(seminar) -> dict:
    """The move form filled with the seminar's present time and place."""
    values = seminar_values(seminar)
    names = ("date", "end_date", "start_time", "end_time", "location", "join_url")
    return {"move_" + name: values[name] for name in names}


def repeat_input(form) -> dict:
    """The repeat form as SeminarRepeat's data."""
    problems: dict = {}
    raw = {"every": form.get("every", ""),
           "count": _parse(form, "count", int, "invalid_number", problems, required=True),
           "interval": _parse(form, "interval", int, "invalid_number", problems),
           "week_of_month": _parse(form, "week_of_month", int, "invalid_choice", problems)}
    return load(SeminarRepeat(), {name: value for name, value in raw.items() if value is not None}, problems)


def organiser_input(form) -> dict:
    """The settings form as OrganiserInput's data (one partner origin per line)."""
    problems: dict = {}
    raw = {
        "name": form.get("name", "").strip(),
        "contact_email": form.get("contact_email", "").strip(),
        "website_url": _optional(form, "website_url"),
        "privacy_policy_url": form.get("privacy_policy_url", "").strip(),
        "imprint_url": _optional(form, "imprint_url"),
        "allowed_origins": [line.strip().rstrip("/") for line in form.get("allowed_origins", "").splitlines()
                            if line.strip()],
        "retention_days": _parse(form, "retention_days", _count, "invalid_number", problems, required=True),
        "retention_days_cancelled": _parse(form, "retention_days_cancelled", _count, "invalid_number", problems,
                                           required=True),
    }
    return load(OrganiserInput(), raw, problems)


def webhook_input(form) -> dict:
    """The webhook form as WebhookInput's data (the events are checkboxes)."""
    return load(WebhookInput(), {"url": form.get("url", "").strip(), "description": form.get("description", "").strip(),
                                 "events": form.getlist("events")})


def form_errors(problem: Exception, fields: dict[str, str] = REFUSAL_FIELDS) -> dict:
    """A form's errors from invalid fields or from the domain's refusal (next to its field, else on top)."""
    if isinstance(problem, FormInvalid):
        return problem.errors
    if problem.status == 404:
        raise problem  # another organiser's series or seminar: like a page that does not exist
    if isinstance(problem.errors, dict):
        return problem.errors  # the refusal names its fields itself
    return {fields.get(problem.code, "_form"): [problem.code]}


def messages(errors: dict) -> dict[str, list[str]]:
    """Error codes as sentences in the page's language, one list per form field."""
    return {field: _sentences(codes, "") for field, codes in errors.items()}


def _sentences(codes, prefix: str) -> list[str]:
    """Sentences for a list of codes, or for a nested structure with its positions named."""
    if isinstance(codes, dict):
        # Nested: a question's fields, a line of the partner origins.
        return [sentence for key, inner in codes.items()
                for sentence in _sentences(inner, f"{prefix}{_position(key)}: ")]
    return [prefix + _sentence(code) for code in codes]


def _position(key) -> str:
    """A list position ("Nr. 2") or a nested field's name."""
    return page_text("Nr. %(number)s", number=key + 1) if isinstance(key, int) else str(key)


def _sentence(code: str) -> str:
    """One error code as a sentence in the page's language."""
    language = page_language()
    if code in FORM_MESSAGES:
        return page_text(FORM_MESSAGES[code])
    if code in FIELD_MESSAGES:
        return field_message(code, language)
    if code in PROBLEMS:
        return problem_text(code, language)[1]
    # marshmallow's own English sentences (e.g. a range) are replaced by a plain one.
    return field_message("invalid_choice", language)
