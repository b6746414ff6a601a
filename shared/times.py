"""Time handling: everything is stored in UTC and shown in the seminar's zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc

_WEEKDAYS = {
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local(moment: datetime, zone: str) -> datetime:
    """Convert an instant to wall-clock time in the named zone."""
    return as_utc(moment).astimezone(ZoneInfo(zone))


def from_local(wall_clock: datetime, zone: str) -> datetime:
    """Interpret a naive wall-clock time in the named zone and return it in UTC."""
    return wall_clock.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def format_date(moment: datetime, zone: str, language: str = "de") -> str:
    """Write a date the way people read it, e.g. 'Mittwoch, 9. Dezember 2026'."""
    when = local(moment, zone)
    lang = language if language in _WEEKDAYS else "de"
    weekday = _WEEKDAYS[lang][when.weekday()]
    month = _MONTHS[lang][when.month - 1]
    if lang == "de":
        return f"{weekday}, {when.day}. {month} {when.year}"
    return f"{weekday}, {when.day} {month} {when.year}"


def format_time_range(starts_at: datetime, ends_at: datetime, zone: str, language: str = "de") -> str:
    """Write a time span with its zone, e.g. '13:30–15:00 Uhr (Europe/Berlin, MEZ)'."""
    start, end = local(starts_at, zone), local(ends_at, zone)
    abbreviation = _zone_abbreviation(start, language)
    if language == "en":
        return f"{start:%H:%M}–{end:%H:%M} ({zone}, {abbreviation})"
    return f"{start:%H:%M}–{end:%H:%M} Uhr ({zone}, {abbreviation})"


def format_when(starts_at: datetime, ends_at: datetime, zone: str, language: str = "de") -> str:
    """Date and time span in one line, as mails and pages show it."""
    date_text = format_date(starts_at, zone, language)
    return date_text + ", " + format_time_range(starts_at, ends_at, zone, language)


def _zone_abbreviation(when: datetime, language: str) -> str:
    # German readers know MEZ/MESZ rather than CET/CEST.
    abbreviation = when.tzname() or ""
    if language != "en":
        abbreviation = {"CET": "MEZ", "CEST": "MESZ"}.get(abbreviation, abbreviation)
    return abbreviation
