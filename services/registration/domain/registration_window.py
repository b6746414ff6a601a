"""When a seminar takes registrations: its status and registration window, and, as the public sees it, its seats."""

from __future__ import annotations

from datetime import datetime

from shared.models import Seminar, SeminarStatus
from shared.problems import Refusal
from shared.times import utcnow
from services.registration.domain.refusals import (
    RegistrationClosed,
    RegistrationNotOpenYet,
    SeminarCancelled,
    SeminarFull,
)


def window_problem(seminar, now: datetime | None = None) -> type[Refusal] | None:
    """Why the seminar takes no registrations now, by its status and registration window; None when open.

    ``seminar`` is a Seminar or the registration's kept rules: whatever has
    ``status``, ``registration_opens_at`` and ``closes_at``. Seats are not its
    business: only the write that takes one knows (see ``closed_reason``).
    """
    now = now or utcnow()
    if seminar.status == SeminarStatus.CANCELLED:
        return SeminarCancelled
    if seminar.registration_opens_at and now < seminar.registration_opens_at:
        return RegistrationNotOpenYet
    if now >= seminar.closes_at:
        return RegistrationClosed
    return None


def closed_reason(seminar: Seminar, now: datetime | None = None) -> type[Refusal] | None:
    """Why a form for the seminar would be refused now, as the public sees it: its window, or no seat left."""
    reason = window_problem(seminar, now)
    if reason is None and seminar.seats_left == 0 and not seminar.waitlist_enabled:
        return SeminarFull
    return reason


def joins_waiting_list(seminar: Seminar, now: datetime | None = None) -> bool:
    """Whether a registration now would go onto the waiting list: open, but no seat left."""
    return closed_reason(seminar, now) is None and seminar.seats_left == 0
