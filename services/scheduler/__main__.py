"""Run the scheduler: ``python -m services.scheduler`` (one instance per installation)."""

from __future__ import annotations

import itertools
import logging
import signal
import threading

from shared.config import Settings
from shared.logs import bind, configure_logging, unbind
from shared.redis_keys import scheduler_lock
from shared.runtime import Runtime, make_runtime
from shared.times import utcnow
from services.registration.accounts.sessions import drop_expired_sessions
from services.registration.domain.registrations import expire_unconfirmed
from services.registration.domain.retention import anonymise_due
from services.scheduler.reminders import create_reminders
from services.scheduler.sweep import sweep_notifications
from services.scheduler.webhooks import forget_old_deliveries, sweep_webhooks

log = logging.getLogger("scheduler")


def run_once(runtime: Runtime, now=None) -> dict[str, int]:
    """Run every periodic job once and report what each did."""
    now = now or utcnow()
    return {
        "registrations_expired": expire_unconfirmed(runtime, now),
        "registrations_anonymised": anonymise_due(runtime, now),
        "notifications_requeued": sweep_notifications(runtime, now),
        # After the sweep, so that the reminders written here are not queued twice in one round.
        "reminders_created": create_reminders(runtime, now),
        "sessions_dropped": drop_expired_sessions(runtime, now),
        "webhooks_queued": sweep_webhooks(runtime, now),
        "webhook_deliveries_forgotten": forget_old_deliveries(runtime, now),
    }


def main() -> None:
    """Run the jobs every interval until SIGTERM or SIGINT."""
    configure_logging()
    runtime = make_runtime(Settings.from_env())
    interval = runtime.settings.scheduler_interval_seconds
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    log.info("scheduler started, interval %.0f s", interval, extra={"interval_seconds": interval})
    for round_number in itertools.count(1):
        if stopping.is_set():
            break
        # Every line of a round carries its number, as request lines carry their request id.
        token = bind(scheduler_round=round_number)
        try:
            # A second scheduler (e.g. during a rolling deploy) skips the round.
            if runtime.redis.set(scheduler_lock(), "1", nx=True, ex=max(int(interval) - 1, 1)):
                report = run_once(runtime)
                if any(report.values()):
                    log.info("round done", extra=report)
        except Exception:  # keep running; the next round retries
            log.exception("scheduler round failed")
        finally:
            unbind(token)
        stopping.wait(interval)
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
