"""iCalendar objects for seminars, the same in feeds and in mail attachments."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable
from urllib.parse import urlencode

from icalendar import Calendar, Event, vDuration

from shared.config import Settings
from shared.containment import showable
from shared.i18n import N_, translate
from shared.links import seminar_page_url
from shared.models import Seminar, SeminarFormat, SeminarStatus
from shared.times import as_utc, local

PRODID = "-//Seminare//Seminaranmeldung//DE"
REFRESH_INTERVAL = timedelta(hours=1)
# Feeds and attachments have no reader language: their few words stand in both.
JOIN_LINK = N_("Zugangslink")
DETAILS = N_("Anmeldung und Details")


def seminar_uid(seminar_id: int, host: str) -> str:
    """The seminar's UID: stable for its whole life and equal in every feed and mail."""
    return f"seminar-{seminar_id}@{host}"


def _both_languages(message: str) -> str:
    return f"{translate('de', message)} / {translate('en', message)}"


def seminar_event(seminar: Seminar, settings: Settings, join_url: str | None = None) -> Event:
    """Build the VEVENT of a seminar; ``join_url`` only for a confirmed participant.

    A seminar outside the accepted dates raises ``CannotBeShown``: its time zone
    rules could not be written, and the calendar around it would fail.
    """
    showable(seminar)
    page = seminar_page_url(settings, seminar.id)
    description = seminar.description.strip()
    lines = [description] if description else []
    if join_url:
        lines.append(f"{_both_languages(JOIN_LINK)}: {join_url}")
    lines.append(f"{_both_languages(DETAILS)}: {page}")
    event = Event.new(
        uid=seminar_uid(seminar.id, settings.public_host),
        summary=seminar.title,
        description="\n\n".join(lines),
        start=local(seminar.starts_at, seminar.timezone),
        end=local(seminar.ends_at, seminar.timezone),
        # DTSTAMP follows the last change so that unchanged feeds keep the same bytes.
        stamp=seminar.updated_at,
        created=seminar.created_at,
        last_modified=seminar.updated_at,
        sequence=seminar.sequence,
        status="CANCELLED" if seminar.status == SeminarStatus.CANCELLED else "CONFIRMED",
        url=page,
        location=_location(seminar, join_url),
        categories=[seminar.series.title] if seminar.series else (),
    )
    return event


def google_calendar_url(seminar: Seminar, settings: Settings) -> str:
    """A link that opens Google Calendar with the seminar filled in (no join link)."""
    query = urlencode({
        "action": "TEMPLATE",
        "text": seminar.title,
        "dates": f"{_utc_stamp(seminar.starts_at)}/{_utc_stamp(seminar.ends_at)}",
        "ctz": seminar.timezone,
        "details": seminar_page_url(settings, seminar.id),
        "location": _location(seminar, None) or "",
    })
    return f"https://calendar.google.com/calendar/render?{query}"


def outlook_calendar_url(seminar: Seminar, settings: Settings) -> str:
    """A link that opens Outlook on the web with the seminar filled in as a new event (no join link)."""
    query = urlencode({
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": seminar.title,
        "startdt": as_utc(seminar.starts_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": as_utc(seminar.ends_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": seminar_page_url(settings, seminar.id),
        "location": _location(seminar, None) or "",
    })
    return f"https://outlook.live.com/calendar/0/deeplink/compose?{query}"


def _utc_stamp(moment) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _location(seminar: Seminar, join_url: str | None) -> str | None:
    if seminar.format == SeminarFormat.ONLINE:
        return join_url or "Online"
    if seminar.format == SeminarFormat.HYBRID:
        return f"{seminar.location} / Online" if seminar.location else "Online"
    return seminar.location


def make_calendar(name: str, uid: str, events: Iterable[Event], method: str | None = None) -> Calendar:
    """Wrap events in a VCALENDAR with the VTIMEZONEs they use and refresh hints.

    ``uid`` must be stable per feed: the same content must give the same bytes.
    """
    calendar = Calendar.new(
        prodid=PRODID,
        uid=uid,
        # One line: a title with a line break would not make a valid NAME.
        name=" ".join(name.split()),  # also writes X-WR-CALNAME for Outlook and Google
        method=method,
        refresh_interval=REFRESH_INTERVAL,
        subcomponents=list(events),
    )
    # RFC 7986 requires the VALUE parameter on REFRESH-INTERVAL.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar["X-PUBLISHED-TTL"] = vDuration(REFRESH_INTERVAL)
    _add_timezones(calendar)
    return calendar


def _add_timezones(calendar: Calendar) -> None:
    # VTIMEZONEs only for the years the events span (and the next): the default
    # range (1970-2038) lists decades of transitions that some parsers misread
    # and every calendar app downloads on each refresh.
    events = calendar.walk("VEVENT")
    if not events:
        return
    first = min(event.start for event in events)
    last = max(event.end for event in events)
    calendar.add_missing_timezones(first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 12, 31))
