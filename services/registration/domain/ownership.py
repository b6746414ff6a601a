"""One rule for every organiser action: a principal acts only on its own organiser's rows.

Another organiser's series, seminar or registration answers exactly like a missing
one, so ids reveal nothing across organisers. ``by=None`` is the service itself
(the scheduler, a participant's own link), which may act on any seminar.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from shared.models import Registration, Seminar, Series, WebhookEndpoint, is_row_id
from services.registration.accounts.principals import Principal
from services.registration.domain.refusals import (
    RegistrationNotFound,
    SeminarNotFound,
    SeriesNotFound,
    WebhookNotFound,
)


def owns(by: Principal | None, organiser_id: int) -> bool:
    """Whether ``by`` may act on rows of this organiser."""
    return by is None or by.organiser_id == organiser_id


def of_organiser(by: Principal, organiser_id: ColumnElement[int]) -> ColumnElement[bool]:
    """``owns`` as a condition for a list: rows whose ``organiser_id`` column names the principal's organiser."""
    return organiser_id == by.organiser_id


def owned_series(session: Session, by: Principal | None, series_id: int) -> Series:
    """One of the organiser's series, or SeriesNotFound."""
    series = session.get(Series, series_id) if is_row_id(series_id) else None
    if series is None or not owns(by, series.organiser_id):
        raise SeriesNotFound()
    return series


def owned_seminar(session: Session, by: Principal | None, seminar_id: int, lock: bool = False) -> Seminar:
    """One of the organiser's seminars (locked for the transaction if ``lock``), or SeminarNotFound."""
    seminar = session.get(Seminar, seminar_id, with_for_update=lock) if is_row_id(seminar_id) else None
    if seminar is None or not owns(by, seminar.organiser_id):
        raise SeminarNotFound()
    return seminar


def owned_registration(session: Session, by: Principal | None, registration_id: int,
                       lock: bool = False) -> Registration:
    """A registration of one of the organiser's seminars (locked if ``lock``), or RegistrationNotFound."""
    registration = None
    if is_row_id(registration_id):
        registration = session.get(Registration, registration_id, with_for_update=lock)
    if registration is None or not owns(by, registration.seminar.organiser_id):
        raise RegistrationNotFound()
    return registration


def owned_webhook(session: Session, by: Principal | None, endpoint_id: int, lock: bool = False) -> WebhookEndpoint:
    """One of the organiser's webhook endpoints (locked if ``lock``), or WebhookNotFound."""
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock) if is_row_id(endpoint_id) else None
    if endpoint is None or not owns(by, endpoint.organiser_id):
        raise WebhookNotFound()
    return endpoint
