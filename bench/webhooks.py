"""Webhook deliveries per second from the queue to a receiver, against a bare ``requests.post`` loop, on both databases.

Run: ``.venv/bin/python -m bench.webhooks`` (about two minutes). The full path:
delivery ids are enqueued to Redis, the webhook worker (as deployed:
``services.webhooks``' processes and threads) claims each row, takes a slot of its
endpoint, checks the address, signs the body (Standard Webhooks), posts it and
records the answer. The baseline posts the same bodies to the same receiver in one
``requests.post`` loop, one connection per request as the worker opens. The
receiver runs in a process of its own and answers 200 at once. 10,000 deliveries
per database, in interleaved rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from shared.config import Settings
from shared.db import read_session, write_transaction
from shared.migrate import upgrade
from shared.models import Organiser, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from shared.outbox import WEBHOOKS, dispatch
from shared.runtime import Runtime, make_runtime
from shared.times import utcnow
from services.webhooks import WORKER_PROCESSES, WORKER_THREADS, worker_command

from bench.report import Row, against, print_table
from bench.stack import SECRET, databases, dramatiq_worker, redis_server
from scripts.local_ports import free_port, port_is_free
from tests.servers import PROJECT_ROOT

DELIVERIES = 10_000
ROUNDS = 4
TARGET = 0.5
BODY = ('{"type":"registration.created","timestamp":"2026-12-04T12:00:00+00:00","version":1,"data":{'
        '"registration":{"id":1,"seminar_id":1,"status":"confirmed","name":"Erika Mustermann",'
        '"email":"erika@example.org","language":"de","answers":{}},"seminar":{"id":1,'
        '"title":"Kommunal Engagiert: Lasttest"}}}')


class Receiver(BaseHTTPRequestHandler):
    """Reads the body and answers 200, nothing else."""

    def do_POST(self):
        """Accept one delivery."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        """Quiet."""


def serve_receiver(port: int) -> None:
    """The receiver's process: ``python -m bench.webhooks receive <port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    server.daemon_threads = True
    server.serve_forever()


def start_receiver() -> tuple[subprocess.Popen, str]:
    """The receiver in its own process; returns it and its URL once it listens."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.webhooks", "receive", str(port)], cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 20
    while port_is_free(port):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit("the webhook receiver did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}/hooks"


def add_deliveries(runtime: Runtime, url: str, count: int) -> list[int]:
    """An endpoint with ``count`` queued deliveries of the same body, written without queueing them."""
    from services.registration.domain.webhooks import new_secret

    now = utcnow()
    with write_transaction(runtime.sessions) as session:
        organiser = Organiser(slug=f"bench-{time.monotonic_ns()}", name="Musikverband", contact_email="a@example.org",
                              privacy_policy_url="https://example.org/p")
        session.add(organiser)
        session.flush()
        endpoint = WebhookEndpoint(organiser_id=organiser.id, url=url, events=["registration.created"],
                                   secret=new_secret())
        session.add(endpoint)
        session.flush()
        rows = [{"endpoint_id": endpoint.id, "event_id": f"msg_{n:032d}", "event_type": "registration.created",
                 "payload": BODY, "status": WebhookDeliveryStatus.QUEUED, "attempts": 0, "created_at": now}
                for n in range(count)]
        session.execute(insert(WebhookDelivery), rows)
        return list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
                                    .order_by(WebhookDelivery.id)))


def sent_count(runtime: Runtime, ids: list[int]) -> int:
    """How many of one round's consecutive rows are marked sent."""
    with read_session(runtime.sessions) as session:
        return session.scalar(select(func.count()).where(
            WebhookDelivery.id.between(min(ids), max(ids)), WebhookDelivery.status == WebhookDeliveryStatus.SENT))


def full_path(runtime: Runtime, ids: list[int]) -> float:
    """Deliveries per second from enqueueing the ids until every row is marked sent."""
    started = time.perf_counter()
    assert dispatch(runtime.engine, runtime.broker, ids, WEBHOOKS) == len(ids)
    deadline = started + 300
    while sent_count(runtime, ids) < len(ids):
        if time.perf_counter() > deadline:
            sys.exit("the webhook worker did not deliver every row within 300 s")
        time.sleep(0.05)
    return len(ids) / (time.perf_counter() - started)


def baseline(url: str, count: int) -> float:
    """Posts per second of a bare requests.post loop with the same body."""
    body = BODY.encode()
    started = time.perf_counter()
    for _ in range(count):
        requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5).raise_for_status()
    return count / (time.perf_counter() - started)


def measure(database_url: str, redis_url: str, url: str) -> tuple[float, float]:
    """Median deliveries per second of the worker and of the requests loop on one database."""
    upgrade(database_url)
    settings = Settings(database_url=database_url, redis_url=redis_url, secret_key=SECRET)
    runtime = make_runtime(settings)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
           "WEBHOOK_ALLOW_PRIVATE": "1"}
    rates: dict[str, list[float]] = {"full": [], "base": []}
    per_round = DELIVERIES // ROUNDS
    try:
        with dramatiq_worker(worker_command([sys.executable, "-m"]), env, WORKER_PROCESSES):
            full_path(runtime, add_deliveries(runtime, url, 50))  # warm-up
            # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
            for _round in range(ROUNDS):
                ids = add_deliveries(runtime, url, per_round)
                rates["base"].append(baseline(url, per_round))
                rates["full"].append(full_path(runtime, ids))
    finally:
        runtime.close()
    return statistics.median(rates["full"]), statistics.median(rates["base"])


def run() -> list[Row]:
    """The webhook worker against the requests loop, on each database."""
    rows = []
    receiver, url = start_receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url, \
                databases(Path(tmp), "webhooks") as urls:
            for name, database_url in urls:
                full, base = measure(database_url, redis_url, url)
                rows.append(against(f"webhooks queue to receiver, {name}", full, base, "posts/s", TARGET,
                                    note=f"worker {WORKER_PROCESSES} x {WORKER_THREADS}, {DELIVERIES} deliveries"))
    finally:
        receiver.terminate()
        receiver.wait(10)
    return rows


def main() -> int:
    """Run the webhook benchmark and print its table."""
    if sys.argv[1:2] == ["receive"]:
        serve_receiver(int(sys.argv[2]))
        return 0
    print_table(f"webhook deliveries from queue to a local receiver, {DELIVERIES} per database in {ROUNDS} "
                f"interleaved rounds (median); baseline: a bare requests.post loop with the same body; "
                f"{os.cpu_count()} CPUs", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
