"""Copies of a seminar: one draft like it ("Duplizieren"), or drafts on repeating dates ("Termine wiederholen").

A copy takes every rule and question of the original; it starts as a draft with
no registrations, its own calendar identity and SEQUENCE 0. Repeated dates keep the
original's local wall-clock time in its time zone, so 13:30 stays 13:30 across a
change to or from daylight saving time.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.db import read_session, write_transaction
from shared.models import Question, Seminar, SeminarStatus
from shared.runtime import Runtime
from shared.times import from_local, local
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_seminar
from services.registration.domain.seminar_times import span_problem

# What a copy does not take over: its identity, its state, and what registrations did to the original.
NOT_COPIED = {"id", "organiser_id", "status", "seats_taken", "sequence", "cancelled_at", "created_at", "updated_at"}
# Enough for a year of monthly dates or half a year of weekly ones; more is a mistake more often than a plan.
MOST_REPEATS = 26
WEEKLY, MONTHLY = "week", "month"


@dataclass(frozen=True)
class Repetition:
    """A rhythm of dates after a seminar: every ``interval`` weeks, or monthly on the same weekday of the month.

    ``week_of_month`` counts 1–4 for "the n-th <weekday>" or -1 for "the last <weekday>";
    it is ignored for weekly dates.
    """

    every: str
    count: int
    interval: int = 1
    week_of_month: int = 1


def repetition_of(seminar: Seminar, rhythm: dict) -> Repetition:
    """A repetition from the API's or the form's data; the week of the month defaults to the seminar's own."""
    own = week_of_month(local(seminar.starts_at, seminar.timezone).date())
    return Repetition(every=rhythm["every"], count=rhythm["count"], interval=rhythm.get("interval") or 1,
                      week_of_month=rhythm.get("week_of_month") or own)


def week_of_month(day: date) -> int:
    """Which of its weekdays in the month ``day`` is: 1 for the first Wednesday, …, 5 for a fifth one."""
    return (day.day - 1) // 7 + 1


def repeated_dates(seminar: Seminar, repetition: Repetition) -> list[tuple[datetime, datetime]]:
    """The start and end (UTC) of each repeated date after the seminar, at its local time of day.

    Refused with the seminar's own date rules (``span_problem``) if a date is outside the accepted range.
    """
    start = local(seminar.starts_at, seminar.timezone).replace(tzinfo=None)
    length = seminar.ends_at - seminar.starts_at
    days = (_weekly(start.date(), repetition) if repetition.every == WEEKLY else _monthly(start.date(), repetition))
    spans = []
    for day in days:
        starts_at = from_local(datetime.combine(day, start.time()), seminar.timezone)
        # The length is kept in wall-clock time too: a seminar across the night of the change stays 13:30-15:00.
        ends_at = from_local(datetime.combine(day, start.time()) + length, seminar.timezone)
        problem = span_problem(starts_at, ends_at)
        if problem is not None:
            raise problem()
        spans.append((starts_at, ends_at))
    return spans


def _weekly(first: date, repetition: Repetition) -> list[date]:
    return [first + timedelta(weeks=repetition.interval * n) for n in range(1, repetition.count + 1)]


def _monthly(first: date, repetition: Repetition) -> list[date]:
    days, year, month = [], first.year, first.month
    while len(days) < repetition.count:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = _weekday_in_month(year, month, first.weekday(), repetition.week_of_month)
        if day is not None:  # a month without a fifth Wednesday is skipped
            days.append(day)
    return days


def _weekday_in_month(year: int, month: int, weekday: int, which: int) -> date | None:
    matching = [week[weekday] for week in calendar.monthcalendar(year, month) if week[weekday]]
    if which == -1:
        return date(year, month, matching[-1])
    return date(year, month, matching[which - 1]) if which <= len(matching) else None


def duplicate_seminar(runtime: Runtime, by: Principal, seminar_id: int) -> int:
    """Copy a seminar as a draft with all its rules and questions, at the same time; returns the new id."""
    with write_transaction(runtime.sessions) as session:
        original = owned_seminar(session, by, seminar_id)
        copy = _copy(original, original.starts_at, original.ends_at)
        session.add(copy)
        session.flush()
        audit.record(session, by, "seminar.duplicated", "seminar", copy.id, copied_from=original.id)
        return copy.id


def preview_repeat(runtime: Runtime, by: Principal, seminar_id: int, rhythm: dict) -> list[tuple[datetime, datetime]]:
    """The dates ``repeat_seminar`` would create with ``rhythm`` (``SeminarRepeat``'s fields); creates nothing."""
    with read_session(runtime.sessions) as session:
        original = owned_seminar(session, by, seminar_id)
        return repeated_dates(original, repetition_of(original, rhythm))


def repeat_seminar(runtime: Runtime, by: Principal, seminar_id: int, rhythm: dict) -> list[int]:
    """Create a draft like the seminar on each repeated date of ``rhythm``; returns their ids, earliest first."""
    with write_transaction(runtime.sessions) as session:
        original = owned_seminar(session, by, seminar_id)
        repetition = repetition_of(original, rhythm)
        copies = [_copy(original, starts_at, ends_at) for starts_at, ends_at in repeated_dates(original, repetition)]
        session.add_all(copies)
        session.flush()
        audit.record(session, by, "seminar.repeated", "seminar", original.id, every=repetition.every,
                     count=len(copies), copies=[copy.id for copy in copies])
        return [copy.id for copy in copies]


def _copy(original: Seminar, starts_at: datetime, ends_at: datetime) -> Seminar:
    """A draft with the original's columns, moved to ``starts_at``; registration opens and closes as far before."""
    values = {column.key: getattr(original, column.key)
              for column in Seminar.__table__.columns if column.key not in NOT_COPIED}
    shift = starts_at - original.starts_at
    values.update(starts_at=starts_at, ends_at=ends_at, status=SeminarStatus.DRAFT,
                  reminder_offsets=list(original.reminder_offsets or []))
    for name in ("registration_opens_at", "registration_closes_at"):
        if values[name] is not None:
            values[name] = values[name] + shift
    questions = [Question(**{column.key: getattr(question, column.key) for column in Question.__table__.columns
                             if column.key not in ("id", "seminar_id")} | {"options": [dict(o) for o in question.options or []]})
                 for question in original.questions]
    return Seminar(organiser_id=original.organiser_id, questions=questions, **values)
