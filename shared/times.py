"""Time handling: everything is stored in UTC and shown in the seminar's zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.i18n import N_, translate, translate_plural

UTC = timezone.utc
# Every moment the services take in lies in [EARLIEST, LATEST): wide enough for any
# seminar, narrow enough that what is derived from it (local times in any zone,
# retention dates, reminders, a calendar's time zone rules) stays a valid date.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# Names and patterns in German; the message catalog has the English.
_WEEKDAYS = (N_("Montag"), N_("Dienstag"), N_("Mittwoch"), N_("Donnerstag"), N_("Freitag"), N_("Samstag"),
             N_("Sonntag"))
_MONTHS = (N_("Januar"), N_("Februar"), N_("März"), N_("April"), N_("Mai"), N_("Juni"), N_("Juli"), N_("August"),
           N_("September"), N_("Oktober"), N_("November"), N_("Dezember"))


def in_accepted_range(moment: datetime) -> bool:
    """Whether an aware moment lies in the range the services accept (see ``EARLIEST``)."""
    return EARLIEST <= moment < LATEST


def shift(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the ends of what datetime can hold instead of overflowing.

    For dates derived from stored ones that may predate the accepted range (a
    seminar saved before it was checked): one odd row must not break a page.
    """
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local(moment: datetime, zone: str) -> datetime:
    """Convert an instant to wall-clock time in the named zone.

    At the very ends of what datetime holds (a row from before dates were checked)
    the conversion would overflow; the instant is then shown in UTC.
    """
    try:
        return as_utc(moment).astimezone(ZoneInfo(zone))
    except OverflowError:
        return moment


def from_local(wall_clock: datetime, zone: str) -> datetime:
    """Interpret a naive wall-clock time in the named zone and return it in UTC."""
    return wall_clock.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def format_date(moment: datetime, zone: str, language: str = "de") -> str:
    """Write the date of an instant in the named zone, e.g. 'Mittwoch, 9. Dezember 2026'."""
    return format_day(local(moment, zone), language)


def weekday_name(moment: datetime, zone: str, language: str = "de") -> str:
    """The weekday of an instant in the named zone, e.g. 'Mittwoch'."""
    return translate(language, _WEEKDAYS[local(moment, zone).weekday()])


def format_day(day: date, language: str = "de") -> str:
    """Write a calendar day the way people read it, e.g. 'Wednesday, 9 December 2026'."""
    return translate(
        language, "%(weekday)s, %(day)s. %(month)s %(year)s",
        weekday=translate(language, _WEEKDAYS[day.weekday()]), day=day.day,
        month=translate(language, _MONTHS[day.month - 1]), year=day.year,
    )


def format_moment(moment: datetime, zone: str, language: str = "de") -> str:
    """Write one instant with its date, e.g. 'Mittwoch, 9. Dezember 2026, 13:30 Uhr'."""
    # Translators: an instant, e.g. the start of a seminar in a mail subject; date is e.g. "Mittwoch, 9. Dezember 2026".
    return translate(language, "%(date)s, %(time)s Uhr",
                     date=format_date(moment, zone, language), time=f"{local(moment, zone):%H:%M}")


def format_lead_times(minutes: list[int], language: str = "de") -> str:
    """Times before an event in words, e.g. [1440, 60] -> '1 Tag und 1 Stunde'."""
    parts = []
    for amount in sorted(minutes, reverse=True):
        if amount % 1440 == 0:
            parts.append(translate_plural(language, "%(count)s Tag", "%(count)s Tage", amount // 1440))
        elif amount % 60 == 0:
            parts.append(translate_plural(language, "%(count)s Stunde", "%(count)s Stunden", amount // 60))
        else:
            parts.append(translate_plural(language, "%(count)s Minute", "%(count)s Minuten", amount))
    if len(parts) < 2:
        return "".join(parts)
    return translate(language, "%(first)s und %(last)s", first=", ".join(parts[:-1]), last=parts[-1])


def format_time_range(starts_at: datetime, ends_at: datetime, zone: str, language: str = "de") -> str:
    """Write a time span with its zone, e.g. '13:30–15:00 Uhr (Europe/Berlin, MEZ)'."""
    start, end = local(starts_at, zone), local(ends_at, zone)
    return translate(
        language, "%(start)s–%(end)s Uhr (%(zone)s, %(abbreviation)s)",
        start=f"{start:%H:%M}", end=f"{end:%H:%M}", zone=zone, abbreviation=_zone_abbreviation(start, language),
    )


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
