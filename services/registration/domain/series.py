"""An organiser's series: a slug (which names its public feed), a title and a description."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import read_session, write_transaction
from shared.models import Series
from shared.runtime import Runtime
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import of_organiser, owned_series
from services.registration.domain.refusals import SlugTaken


def list_series(runtime: Runtime, by: Principal) -> list[Series]:
    """The organiser's series by title."""
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(Series).where(of_organiser(by, Series.organiser_id)).order_by(Series.title)
        ))


def get_series(runtime: Runtime, by: Principal, series_id: int) -> Series:
    """One of the organiser's series."""
    with read_session(runtime.sessions) as session:
        return owned_series(session, by, series_id)


def create_series(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Series:
    """Create a series; its slug names its public feed and must be unused."""
    with write_transaction(runtime.sessions) as session:
        series = Series(organiser_id=by.organiser_id, **data)
        session.add(series)
        _flush_unique_slug(session)
        audit.record(session, by, "series.created", "series", series.id, slug=series.slug)
        return series


def update_series(runtime: Runtime, by: Principal, series_id: int, data: dict[str, Any]) -> Series:
    """Change a series' slug, title or description."""
    with write_transaction(runtime.sessions) as session:
        series = owned_series(session, by, series_id)
        for name, value in data.items():
            setattr(series, name, value)
        _flush_unique_slug(session)
        audit.record(session, by, "series.changed", "series", series.id, fields=sorted(data))
        return series


def delete_series(runtime: Runtime, by: Principal, series_id: int) -> None:
    """Delete a series; its seminars stay, without a series."""
    with write_transaction(runtime.sessions) as session:
        series = owned_series(session, by, series_id)
        for seminar in series.seminars:
            seminar.series_id = None
        session.delete(series)
        audit.record(session, by, "series.deleted", "series", series_id, slug=series.slug)


def _flush_unique_slug(session: Session) -> None:
    """Write the series now, so that a slug in use is refused here and not at the commit."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise SlugTaken() from exc
