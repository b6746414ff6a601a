"""Webhooks: which partner systems hear of an organiser's registrations and seminars, and what each event says.

An endpoint subscribes to event types (``shared.models.WebhookEvent``). A change
that is such an event writes one delivery row per subscribed endpoint in its own
transaction (``emit``); the webhook worker (``services.webhooks``) posts it after
the commit, signed with the endpoint's secret as Standard Webhooks describes, and
retries it for about a day. Registration events carry the person's name, address,
language and answers; seminar events nothing personal.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import read_session, write_transaction
from shared.links import seminar_page_url
from shared.models import (
    Registration,
    Seminar,
    Series,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from shared.outbound import UnsafeUrl, allowed_addresses
from shared.outbox import WEBHOOKS, queue_after_commit
from shared.runtime import Runtime
from shared.times import utcnow
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import of_organiser, owned_webhook
from services.registration.domain.refusals import WebhookNotFound, WebhookUrlNotAllowed

# The payloads' shape; a receiver can tell a later one apart.
PAYLOAD_VERSION = 1
# How long the old secret still signs after a rotation, so that receivers can switch without a gap.
SECRET_GRACE = timedelta(hours=24)
SUBSCRIBABLE = tuple(event for event in WebhookEvent if event != WebhookEvent.TEST)
_ENDPOINTS = WebhookEndpoint.__table__
_DELIVERIES = WebhookDelivery.__table__
_SEMINARS = Seminar.__table__
_SERIES = Series.__table__


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(runtime: Runtime, url: str) -> None:
    """Refuse a URL the service must not post to (``shared.outbound``)."""
    try:
        allowed_addresses(url, runtime.settings.webhook_allow_private)
    except UnsafeUrl as exc:
        raise WebhookUrlNotAllowed(errors={"url": [exc.code]}) from None


def create_endpoint(runtime: Runtime, by: Principal, data: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint for the organiser; returns it and its secret, which is shown this once."""
    check_url(runtime, data["url"])
    secret = new_secret()
    with write_transaction(runtime.sessions) as session:
        endpoint = WebhookEndpoint(organiser_id=by.organiser_id, url=data["url"], events=sorted(set(data["events"])),
                                   description=data.get("description") or "", secret=secret)
        session.add(endpoint)
        session.flush()
        audit.record(session, by, "webhook.created", "webhook", endpoint.id, events=endpoint.events)
        return endpoint, secret


def list_endpoints(runtime: Runtime, by: Principal) -> list[WebhookEndpoint]:
    """The organiser's endpoints, oldest first."""
    with read_session(runtime.sessions) as session:
        return list(session.scalars(
            select(WebhookEndpoint).where(of_organiser(by, WebhookEndpoint.organiser_id)).order_by(WebhookEndpoint.id)))


def get_endpoint(runtime: Runtime, by: Principal, endpoint_id: int) -> WebhookEndpoint:
    """One of the organiser's endpoints."""
    with read_session(runtime.sessions) as session:
        return owned_webhook(session, by, endpoint_id)


def update_endpoint(runtime: Runtime, by: Principal, endpoint_id: int, data: dict[str, Any]) -> WebhookEndpoint:
    """Change an endpoint's URL, events or description; ``enabled: true`` turns a disabled one on again."""
    if "url" in data:
        check_url(runtime, data["url"])
    with write_transaction(runtime.sessions) as session:
        endpoint = owned_webhook(session, by, endpoint_id, lock=True)
        for name in ("url", "description"):
            if name in data:
                setattr(endpoint, name, data[name] or "")
        if "events" in data:
            endpoint.events = sorted(set(data["events"]))
        if "enabled" in data:
            endpoint.disabled_at = None if data["enabled"] else (endpoint.disabled_at or utcnow())
            endpoint.failing_since = None
        audit.record(session, by, "webhook.changed", "webhook", endpoint.id, fields=sorted(data))
        return endpoint


def delete_endpoint(runtime: Runtime, by: Principal, endpoint_id: int) -> None:
    """Remove an endpoint with its delivery log."""
    with write_transaction(runtime.sessions) as session:
        endpoint = owned_webhook(session, by, endpoint_id, lock=True)
        session.delete(endpoint)
        audit.record(session, by, "webhook.deleted", "webhook", endpoint_id)


def rotate_secret(runtime: Runtime, by: Principal, endpoint_id: int, now: datetime | None = None) -> str:
    """Give an endpoint a new secret; the old one signs too for ``SECRET_GRACE``. Returns the new one, shown once."""
    now = now or utcnow()
    secret = new_secret()
    with write_transaction(runtime.sessions) as session:
        endpoint = owned_webhook(session, by, endpoint_id, lock=True)
        endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + SECRET_GRACE
        endpoint.secret = secret
        audit.record(session, by, "webhook.secret_rotated", "webhook", endpoint.id)
    return secret


def list_deliveries(runtime: Runtime, by: Principal, endpoint_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    with read_session(runtime.sessions) as session:
        owned_webhook(session, by, endpoint_id)
        return list(session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc()).limit(limit)))


def redeliver(runtime: Runtime, by: Principal, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery once more, with its event id and body unchanged, whatever became of it."""
    with write_transaction(runtime.sessions) as session:
        owned_webhook(session, by, endpoint_id)
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.endpoint_id != endpoint_id:
            raise WebhookNotFound()
        delivery.status = WebhookDeliveryStatus.QUEUED
        delivery.next_attempt_at = None
        delivery.enqueued_at = utcnow()
        queue_after_commit(session, delivery.id, WEBHOOKS)
        audit.record(session, by, "webhook.redelivered", "webhook", endpoint_id, delivery=delivery.id)
        return delivery


def send_test_event(runtime: Runtime, by: Principal, endpoint_id: int) -> int:
    """Send a ``webhook.test`` event to one endpoint (subscribed or not, enabled or not); returns the delivery's id."""
    with write_transaction(runtime.sessions) as session:
        endpoint = owned_webhook(session, by, endpoint_id)
        body = _payload(WebhookEvent.TEST, {"endpoint": {"id": endpoint.id, "url": endpoint.url}}, utcnow())
        return _write_delivery(session, endpoint.id, _event_id(), WebhookEvent.TEST, body)


def emit(writer: Session | Connection, organiser_id: int, event: WebhookEvent, data: Callable[[], dict[str, Any]],
         now: datetime | None = None) -> list[int]:
    """Write the event for each of the organiser's enabled endpoints that subscribed to it; returns the deliveries' ids.

    Call it inside the change's transaction: the deliveries exist exactly if the change does.
    ``data`` builds the event's data, only when some endpoint receives it.
    """
    endpoints = writer.execute(
        select(_ENDPOINTS.c.id, _ENDPOINTS.c.events)
        .where(_ENDPOINTS.c.organiser_id == organiser_id, _ENDPOINTS.c.disabled_at.is_(None))
    ).all()
    subscribed = [endpoint_id for endpoint_id, events in endpoints if event.value in (events or [])]
    if not subscribed:
        return []
    body, event_id = _payload(event, data(), now or utcnow()), _event_id()
    return [_write_delivery(writer, endpoint_id, event_id, event, body) for endpoint_id in subscribed]


def subscribed_events(writer: Session | Connection, organiser_id: int) -> frozenset[str]:
    """The event types any enabled endpoint of the organiser receives (empty: emitting would write nothing)."""
    rows = writer.execute(select(_ENDPOINTS.c.events).where(
        _ENDPOINTS.c.organiser_id == organiser_id, _ENDPOINTS.c.disabled_at.is_(None))).scalars()
    return frozenset(event for events in rows for event in events or [])


def registration_data(writer: Session | Connection, settings: Settings, registration: Registration | dict,
                      seminar_id: int) -> dict:
    """A registration event's data: the registration with the personal data the README names, and its seminar."""
    values = registration if isinstance(registration, dict) else {
        name: getattr(registration, name) for name in _REGISTRATION_FIELDS}
    return {"registration": {name: _json_value(values.get(name)) for name in _REGISTRATION_FIELDS},
            "seminar": seminar_data(writer, settings, seminar_id)}


def seminar_data(writer: Session | Connection, settings: Settings, seminar_id: int) -> dict:
    """A seminar as events describe it, with its public page: nothing personal, no join link."""
    row = writer.execute(
        select(_SEMINARS.c.id, _SEMINARS.c.organiser_id, _SEMINARS.c.title, _SEMINARS.c.status, _SEMINARS.c.format,
               _SEMINARS.c.location, _SEMINARS.c.timezone, _SEMINARS.c.starts_at, _SEMINARS.c.ends_at,
               _SEMINARS.c.capacity, _SEMINARS.c.seats_taken, _SEMINARS.c.sequence, _SERIES.c.slug.label("series"))
        .select_from(_SEMINARS.outerjoin(_SERIES, _SERIES.c.id == _SEMINARS.c.series_id))
        .where(_SEMINARS.c.id == seminar_id)
    ).one()
    return {**{name: _json_value(value) for name, value in row._mapping.items()},
            "url": seminar_page_url(settings, seminar_id)}


_REGISTRATION_FIELDS = ("id", "seminar_id", "status", "name", "email", "language", "answers", "created_at",
                        "confirmed_at", "email_confirmed_at", "cancelled_at")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _payload(event: WebhookEvent, data: dict, now: datetime) -> str:
    """The body as it is signed and sent: type, moment, version and the event's data."""
    return json.dumps({"type": event.value, "timestamp": now.isoformat(), "version": PAYLOAD_VERSION, "data": data},
                      ensure_ascii=False, separators=(",", ":"))


def _event_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _write_delivery(writer: Session | Connection, endpoint_id: int, event_id: str, event: WebhookEvent,
                    body: str) -> int:
    """One delivery row, stamped as queued: it goes to the queue after the commit (``shared.outbox``)."""
    now = utcnow()
    delivery_id = writer.execute(insert(_DELIVERIES).returning(_DELIVERIES.c.id), {
        "endpoint_id": endpoint_id, "event_id": event_id, "event_type": event.value, "payload": body,
        "status": WebhookDeliveryStatus.QUEUED, "attempts": 0, "created_at": now, "enqueued_at": now,
    }).scalar_one()
    queue_after_commit(writer, delivery_id, WEBHOOKS)
    return delivery_id
