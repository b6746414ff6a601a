"""When a participant may join an online seminar from their own page ("Jetzt teilnehmen")."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.models import Registration, RegistrationStatus, SeminarFormat, SeminarStatus
from shared.times import as_utc, utcnow

# Early enough to test sound and camera, late enough that the link is not lost among other tabs.
JOIN_OPENS_BEFORE = timedelta(minutes=30)


def may_join_now(registration: Registration, now: datetime | None = None) -> bool:
    """Whether the page leads with the join button: a confirmed seat, an online part, and the seminar is on."""
    seminar = registration.seminar
    now = now or utcnow()
    return (
        registration.status == RegistrationStatus.CONFIRMED
        and seminar.status == SeminarStatus.PUBLISHED
        and seminar.format in (SeminarFormat.ONLINE, SeminarFormat.HYBRID)
        and bool(seminar.join_url)
        and as_utc(seminar.starts_at) - JOIN_OPENS_BEFORE <= now < as_utc(seminar.ends_at)
    )
