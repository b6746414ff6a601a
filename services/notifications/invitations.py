"""The calendar attachment of a mail: an iTIP invitation (REQUEST) or cancellation (CANCEL).

The event is the same VEVENT the feeds serve (same UID, same SEQUENCE), so a
calendar app that has the seminar from a feed or an earlier mail updates that
entry instead of adding a second one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from icalendar import Event, vCalAddress

from shared.config import Settings
from shared.ical import make_calendar, seminar_event, seminar_uid
from shared.models import Notification, NotificationKind, Registration, RegistrationStatus, Seminar

# Kinds whose mail puts the seminar into the participant's calendar, or takes it out.
REQUEST_KINDS = (
    NotificationKind.CONFIRMED,
    NotificationKind.PROMOTED,
    NotificationKind.REMINDER,
    NotificationKind.CHANGED,
)
CANCEL_KINDS = (NotificationKind.SEMINAR_CANCELLED, NotificationKind.CANCELLATION_RECEIPT)

FILENAME = "seminar.ics"


@dataclass(frozen=True)
class Invitation:
    """A finished calendar attachment."""

    method: str
    content: bytes


def invitation_for(notification: Notification, settings: Settings, join_url: str | None) -> Invitation | None:
    """The calendar attachment this notification carries, or None.

    Only a registration that holds a confirmed seat gets one: a REQUEST to someone
    who is pending or on the waiting list would put a seminar into their calendar
    that they have no seat for, and they never got an entry a CANCEL could remove.
    """
    registration = notification.registration
    # A cancellation receipt's registration is cancelled by now: what counts is what it was.
    status = (notification.details or {}).get("was", registration.status.value)
    if status != RegistrationStatus.CONFIRMED.value:
        return None
    if notification.kind in REQUEST_KINDS:
        method = "REQUEST"
    elif notification.kind in CANCEL_KINDS:
        method, join_url = "CANCEL", None
    else:
        return None
    template = _seminar_calendar(registration.seminar, settings, method, join_url)
    content = template.replace(_PLACEHOLDER_LINE, _attendee_line(_attendee(registration)), 1)
    return Invitation(method=method, content=content)


# Serialising a calendar costs more than the rest of a mail, and a change or
# cancellation goes to every participant of a seminar at once: the calendar is
# built once per seminar state, and only the ATTENDEE line differs per mail.
_CACHE_SIZE = 64
_cache: "OrderedDict[tuple, bytes]" = OrderedDict()
_cache_lock = threading.Lock()


def _seminar_calendar(seminar: Seminar, settings: Settings, method: str, join_url: str | None) -> bytes:
    """The seminar's calendar with a placeholder attendee, built once per seminar state."""
    organiser = seminar.organiser
    # Everything seminar_event and make_calendar read: a new value is a new entry.
    key = (
        method, join_url, settings.public_host, settings.registration_base_url,
        seminar.id, seminar.sequence, seminar.status, seminar.format, seminar.title, seminar.description,
        seminar.location, seminar.timezone, seminar.starts_at, seminar.ends_at, seminar.created_at,
        seminar.updated_at, seminar.series.title if seminar.series else None,
        organiser.name, organiser.contact_email,
    )
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    event = seminar_event(seminar, settings, join_url=join_url)
    if method == "CANCEL":
        # RFC 5546: a CANCEL's event is CANCELLED, also when only this attendee's seat ends.
        event["STATUS"] = "CANCELLED"
    # RFC 5546 requires ORGANIZER and ATTENDEE in a REQUEST and a CANCEL.
    organizer = vCalAddress(f"mailto:{organiser.contact_email}")
    organizer.params["CN"] = _one_line(organiser.name)
    event.add("organizer", organizer)
    event.add("attendee", _PLACEHOLDER)
    calendar = make_calendar(
        # make_calendar writes the name unescaped; a line break in a title would break the file.
        _one_line(seminar.title),
        f"invitation-{seminar_uid(seminar.id, settings.public_host)}",
        [event],
        method=method,
    )
    content = calendar.to_ical()
    with _cache_lock:
        _cache[key] = content
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return content


def _attendee(registration: Registration) -> vCalAddress:
    # PARTSTAT=ACCEPTED with RSVP=FALSE: the registration is the answer, no reply is expected.
    attendee = vCalAddress(f"mailto:{registration.email}")
    attendee.params.update(
        {"CN": _one_line(registration.name), "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"}
    )
    return attendee


_PLACEHOLDER = vCalAddress("mailto:attendee@placeholder.invalid")
_PLACEHOLDER.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"})


def _attendee_line(attendee: vCalAddress) -> bytes:
    # The folded content line exactly as Component.to_ical writes it.
    return Event().content_line("ATTENDEE", attendee).to_ical()


# Folding a content line is slow in icalendar; the placeholder's never changes.
_PLACEHOLDER_LINE = _attendee_line(_PLACEHOLDER)


def _one_line(text: str) -> str:
    # Parameter values and the calendar name may not hold line breaks.
    return " ".join(text.split())
