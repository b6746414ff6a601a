"""A participant asks for their mail again ("E-Mail erneut senden" after registering).

Anyone who typed an address can press the button, so it is limited: a pause after
the registration and after every resend, and a few resends in all. The limits count
from ``since``, the moment of this person's form post (signed into the page's
link), never from the registration's own history: with double opt-in the page
must not tell whether the address was registered before (``answer_for``). The
mail goes to the registration's own address only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from shared.db import write_transaction
from shared.models import Notification, Registration
from shared.outbox import add_notification
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.domain.refusals import NothingToResend, ResendTooSoon
from services.registration.domain.registrations import STATUS_MAIL

# Time a mail gets to arrive (greylisting delays first mails by minutes) before it may go again.
RESEND_PAUSE = timedelta(minutes=5)
# Resends one registration may ask for; after that, the organiser helps (their address is on the page).
RESEND_MOST = 3
_DEDUPE_PREFIX = "participant-resend:"


def resend_to_participant(runtime: Runtime, registration_id: int, since: datetime,
                          now: datetime | None = None) -> int:
    """Send the mail that fits the registration's status once more; returns the new mail's id.

    Refused with ``ResendTooSoon`` within ``RESEND_PAUSE`` of ``since`` or of the
    last resend, or after ``RESEND_MOST`` resends since ``since``; with
    ``NothingToResend`` for an ended registration.
    """
    now = now or utcnow()
    with write_transaction(runtime.sessions) as session:
        # Locked, so that two presses at once cannot both pass the checks below.
        registration = session.get(Registration, registration_id, with_for_update=True)
        kind = STATUS_MAIL.get(registration.status) if registration is not None else None
        if kind is None:
            raise NothingToResend()
        resends = select(Notification.created_at).where(
            Notification.registration_id == registration_id, Notification.created_at >= since,
            Notification.dedupe_key.like(_DEDUPE_PREFIX + "%")).subquery()
        count, last = session.execute(select(func.count(), func.max(resends.c.created_at)).select_from(resends)).one()
        if count >= RESEND_MOST or now - max(since, last or since) < RESEND_PAUSE:
            raise ResendTooSoon()
        return add_notification(session, registration_id, kind, f"{_DEDUPE_PREFIX}{now:%Y%m%dT%H%M%S.%f}")
