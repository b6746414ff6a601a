"""Posting one webhook delivery: claim the row, sign, post, record the outcome and when to try again.

The row is claimed with a conditional UPDATE, so a message delivered twice, or two
workers racing for it, post once per attempt. Every attempt carries the same
``webhook-id`` (the event's id) and body, so a receiver can drop a repeat; only
the timestamp and with it the signature are new.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from standardwebhooks import Webhook

from shared.db import statement_writes
from shared.messages import DELIVER_WEBHOOK, WEBHOOK_QUEUE, enqueue
from shared.metrics import WEBHOOKS
from shared.models import StaffMailKind, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from shared.outbound import UnsafeUrl
from shared.outbox import add_staff_mails
from shared.runtime import Runtime
from shared.times import utcnow
from services.webhooks import WORKER_THREADS
from services.webhooks.posting import post

log = logging.getLogger(__name__)

# How long to wait after the first, second, ... failed attempt: about a day in all.
BACKOFF = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# Waits up to this long are left to the queue (a delayed message); longer ones to the
# scheduler's sweep, which queues a retry once it is due and survives a Redis restart.
QUEUE_DELAY_LIMIT = timedelta(minutes=5)
# An endpoint whose every delivery failed for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
# Answers that say "try later": a timeout, too many requests, and the server's own errors.
TRY_AGAIN = frozenset({408, 429})

# Posts in flight to one endpoint at a time in one worker process: a receiver that never
# answers holds these threads, the process's last one serves everybody else.
SLOTS_PER_ENDPOINT = WORKER_THREADS - 1
# How long a delivery waits for a slot of its endpoint in the thread, then in the queue
# (given back unclaimed, not counted as an attempt).
SLOT_WAIT_SECONDS = 0.1
QUEUE_WAIT_MS = 1_000

USER_AGENT = "Seminare-Webhooks/1"


class Outcome(str, enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"  # sent already, given up, in flight elsewhere, or not due yet
    DEFERRED = "deferred"  # its endpoint has all its slots in use: queued again shortly
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for one attempt, with what it takes to sign and post it."""

    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    payload: str
    attempts: int  # including this one
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    failing_since: datetime | None


def deliver(runtime: Runtime, delivery_id: int, now: datetime | None = None) -> Outcome:
    """Post the delivery if it is due and nobody else is posting it; record what the receiver said."""
    now = now or utcnow()
    claimed = claim(runtime, delivery_id, now)
    if claimed is None:
        return Outcome.SKIPPED
    slots = _slots_of(claimed.endpoint_id)
    if not slots.acquire(timeout=SLOT_WAIT_SECONDS):
        _defer(runtime, claimed)
        return Outcome.DEFERRED
    try:
        return _attempt(runtime, claimed, now)
    finally:
        slots.release()


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slots_of(endpoint_id: int) -> threading.BoundedSemaphore:
    """This process's posts in flight to one endpoint (one small semaphore per endpoint seen)."""
    with _slots_lock:
        return _slots.setdefault(endpoint_id, threading.BoundedSemaphore(SLOTS_PER_ENDPOINT))


def _attempt(runtime: Runtime, claimed: Claimed, now: datetime) -> Outcome:
    """One POST of a claimed delivery and its outcome."""
    settings = runtime.settings
    body = claimed.payload.encode()
    # Signed with the moment it leaves, which receivers check against their clock (``now`` may be a test's).
    headers = signed_headers(claimed, body, utcnow())
    try:
        answer = post(claimed.url, body, headers, settings.webhook_timeout_seconds, settings.webhook_allow_private)
    except UnsafeUrl as exc:
        # The name resolves somewhere it must not (by now): tried again, as DNS may change back.
        return _failed(runtime, claimed, now, None, f"refused: {exc}", retry=True)
    except Exception as exc:  # timeouts, refused connections, TLS errors: all "try again later"
        return _failed(runtime, claimed, now, None, f"{exc.__class__.__name__}: {exc}"[:300], retry=True)
    if 200 <= answer.status < 300:
        _finish(runtime, claimed, now, WebhookDeliveryStatus.SENT, answer.status, answer.excerpt)
        return Outcome.SENT
    retry = answer.status in TRY_AGAIN or answer.status >= 500
    return _failed(runtime, claimed, now, answer.status, answer.excerpt, retry=retry)


def signed_headers(claimed: Claimed, body: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for a post at ``now``; during a secret's grace period the old one signs too."""
    signatures = [Webhook(claimed.secret).sign(claimed.event_id, now, body)]
    if claimed.previous_secret and claimed.previous_secret_until and claimed.previous_secret_until > now:
        signatures.append(Webhook(claimed.previous_secret).sign(claimed.event_id, now, body))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": claimed.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


# Plain table statements, built once: they run for every delivery.
_DELIVERIES = WebhookDelivery.__table__
_ENDPOINTS = WebhookEndpoint.__table__
_WAITING = (WebhookDeliveryStatus.QUEUED, WebhookDeliveryStatus.RETRY)
_CLAIM = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"), _DELIVERIES.c.status.in_(_WAITING),
           (_DELIVERIES.c.next_attempt_at.is_(None)) | (_DELIVERIES.c.next_attempt_at <= bindparam("now")))
    .values(status=WebhookDeliveryStatus.SENDING, attempts=_DELIVERIES.c.attempts + 1, claimed_at=bindparam("now"))
)
_LOAD = (
    select(_DELIVERIES.c.id, _DELIVERIES.c.endpoint_id, _DELIVERIES.c.event_id, _DELIVERIES.c.event_type,
           _DELIVERIES.c.payload, _DELIVERIES.c.attempts, _ENDPOINTS.c.url, _ENDPOINTS.c.secret,
           _ENDPOINTS.c.previous_secret, _ENDPOINTS.c.previous_secret_until,
           _ENDPOINTS.c.failing_since)
    .select_from(_DELIVERIES.join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id))
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
)
_FINISH = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"), _DELIVERIES.c.status == WebhookDeliveryStatus.SENDING)
    .values(status=bindparam("new_status"), last_status_code=bindparam("code"), last_response=bindparam("response"),
            sent_at=bindparam("sent_at"), next_attempt_at=bindparam("next_at"), enqueued_at=bindparam("queued_at"))
)


def claim(runtime: Runtime, delivery_id: int, now: datetime) -> Claimed | None:
    """Mark the delivery as being posted by us and load it; None if it is done, in flight or not due."""
    with statement_writes(runtime.engine) as connection:
        if connection.execute(_CLAIM, {"delivery_id": delivery_id, "now": now}).rowcount != 1:
            return None
        row = connection.execute(_LOAD, {"delivery_id": delivery_id}).one()
    return Claimed(**row._mapping)


_UNCLAIM = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"), _DELIVERIES.c.status == WebhookDeliveryStatus.SENDING)
    .values(status=bindparam("back_to"), attempts=_DELIVERIES.c.attempts - 1, enqueued_at=bindparam("now"))
)


def _defer(runtime: Runtime, claimed: Claimed) -> None:
    """Give the claim back uncounted and queue the delivery again in a moment (the sweep does, should that fail)."""
    back_to = WebhookDeliveryStatus.QUEUED if claimed.attempts == 1 else WebhookDeliveryStatus.RETRY
    with statement_writes(runtime.engine) as connection:
        connection.execute(_UNCLAIM, {"delivery_id": claimed.id, "back_to": back_to, "now": utcnow()})
    if not enqueue(runtime.broker, DELIVER_WEBHOOK, WEBHOOK_QUEUE, delay_ms=QUEUE_WAIT_MS, delivery_id=claimed.id):
        _forget_queued(runtime, claimed.id)


def _failed(runtime: Runtime, claimed: Claimed, now: datetime, code: int | None, response: str,
            retry: bool) -> Outcome:
    """Record a failed attempt: again after its backoff while attempts remain, else given up."""
    if retry and claimed.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[claimed.attempts - 1]
        queued = wait <= QUEUE_DELAY_LIMIT
        _finish(runtime, claimed, now, WebhookDeliveryStatus.RETRY, code, response, next_at=now + wait,
                queued=queued)
        if queued and not enqueue(runtime.broker, DELIVER_WEBHOOK, WEBHOOK_QUEUE,
                                  delay_ms=int(wait.total_seconds() * 1000), delivery_id=claimed.id):
            _forget_queued(runtime, claimed.id)
        outcome = Outcome.RETRY
    else:
        _finish(runtime, claimed, now, WebhookDeliveryStatus.FAILED, code, response)
        outcome = Outcome.FAILED
    _note_failing(runtime, claimed, now)
    return outcome


def _finish(runtime: Runtime, claimed: Claimed, now: datetime, status: WebhookDeliveryStatus, code: int | None,
            response: str, next_at: datetime | None = None, queued: bool = False) -> None:
    """Record where an attempt ended, and count it."""
    sent = status == WebhookDeliveryStatus.SENT
    values = {"delivery_id": claimed.id, "new_status": status, "code": code,
              "response": response[:500] or None, "sent_at": now if sent else None, "next_at": next_at,
              "queued_at": now if queued else None}
    with statement_writes(runtime.engine) as connection:
        connection.execute(_FINISH, values)
        if sent and claimed.failing_since is not None:
            # The receiver is back: its three days start again at the next failure.
            connection.execute(update(_ENDPOINTS).where(_ENDPOINTS.c.id == claimed.endpoint_id,
                                                        _ENDPOINTS.c.failing_since.is_not(None))
                               .values(failing_since=None))
    WEBHOOKS.labels(claimed.event_type, status.value).inc()
    log.info("webhook delivery %s %s", claimed.id, status.value,
             extra={"event_type": claimed.event_type, "outcome": status.value, "attempt": claimed.attempts,
                    "status_code": code})


def _forget_queued(runtime: Runtime, delivery_id: int) -> None:
    """The retry did not reach the queue: clear its stamp, so the sweep queues it once it is due."""
    with statement_writes(runtime.engine) as connection:
        connection.execute(update(_DELIVERIES).where(_DELIVERIES.c.id == delivery_id).values(enqueued_at=None))


def _note_failing(runtime: Runtime, claimed: Claimed, now: datetime) -> None:
    """Remember since when the endpoint fails; after ``DISABLE_AFTER`` of it, disable it (``disable_failing``)."""
    if claimed.failing_since is None:
        with statement_writes(runtime.engine) as connection:
            connection.execute(update(_ENDPOINTS).where(_ENDPOINTS.c.id == claimed.endpoint_id,
                                                        _ENDPOINTS.c.failing_since.is_(None))
                               .values(failing_since=now))
    elif claimed.failing_since <= now - DISABLE_AFTER:
        disable_failing(runtime, now, claimed.endpoint_id)


def disable_failing(runtime: Runtime, now: datetime, endpoint_id: int | None = None) -> list[int]:
    """Disable endpoints failing for ``DISABLE_AFTER``, give up their waiting deliveries and tell the admins.

    Returns the ids disabled. One conditional UPDATE per endpoint, so of two workers
    only one disables it, and the admins' mail is written in the same transaction.
    """
    since = now - DISABLE_AFTER
    query = select(_ENDPOINTS.c.id, _ENDPOINTS.c.organiser_id).where(
        _ENDPOINTS.c.disabled_at.is_(None), _ENDPOINTS.c.failing_since <= since)
    if endpoint_id is not None:
        query = query.where(_ENDPOINTS.c.id == endpoint_id)
    disabled = []
    with statement_writes(runtime.engine, locks_rows=True) as connection:
        for candidate, organiser_id in connection.execute(query).all():
            done = connection.execute(
                update(_ENDPOINTS).where(_ENDPOINTS.c.id == candidate, _ENDPOINTS.c.disabled_at.is_(None))
                .values(disabled_at=now)).rowcount
            if done:
                connection.execute(
                    update(_DELIVERIES).where(_DELIVERIES.c.endpoint_id == candidate,
                                              _DELIVERIES.c.status.in_(_WAITING))
                    .values(status=WebhookDeliveryStatus.FAILED, last_response="endpoint disabled", next_attempt_at=None))
                add_staff_mails(connection, organiser_id, StaffMailKind.WEBHOOK_DISABLED, candidate,
                               dedupe_key=f"{now:%Y%m%dT%H%M%S.%f}")
                disabled.append(candidate)
    for candidate in disabled:
        log.warning("webhook endpoint %s disabled after %s of failures", candidate, DISABLE_AFTER)
    return disabled
