"""What the benchmarks start on 127.0.0.1, each stopped on the way out (also on Ctrl-C or failure)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.workers import WORKER_ENV

from bench.databases import throwaway_postgres
from bench.load import GUNICORN, wrk
from tests.servers import PROJECT_ROOT, GunicornServer, RedisServer

SECRET = "bench-secret-key-0123456789"


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A private redis-server; yields its URL."""
    redis = RedisServer(directory)
    redis.start()
    try:
        yield redis.url
    finally:
        redis.stop()


@contextmanager
def databases(directory: Path, name: str) -> Iterator[list[tuple[str, str]]]:
    """(name, URL) of a SQLite file in ``directory`` and of a throwaway PostgreSQL database where it runs."""
    with throwaway_postgres() as url:
        yield [("sqlite", f"sqlite:///{directory}/{name}.db")] + ([("postgresql", url)] if url else [])


def service_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a service under test: its database and Redis, nothing from the caller's shell."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin",
            **extra}


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workers: int = GUNICORN["workers"]) -> Iterator[GunicornServer]:
    """An app under gunicorn with the production settings (or another worker count); yields the server."""
    server = GunicornServer(app_spec, env, workers=workers, threads=GUNICORN["threads"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def memory_app(bodies: dict[str, bytes], directory: Path, env: dict[str, str],
               workers: int = GUNICORN["workers"]) -> Iterator[GunicornServer]:
    """The baseline of the reads: the minimal app serving ``bodies`` at /<file name> from memory."""
    directory.mkdir()
    for name, body in bodies.items():
        directory.joinpath(name).write_bytes(body)
    with gunicorn("bench.memory_app:create_app()", {**env, "BENCH_BODIES": str(directory)}, workers) as server:
        yield server


def median_rates(requests: dict[str, dict], seconds: int, rounds: int) -> dict[str, float]:
    """Median requests per second of each named request (keyword arguments of ``wrk``), none may fail."""
    rates: dict[str, list[float]] = {name: [] for name in requests}
    # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
    for _round in range(rounds):
        for name, request in requests.items():
            rate, failed = wrk(seconds=seconds, **request)
            assert failed == 0, f"{name}: {failed} answers neither 2xx nor 3xx"
            rates[name].append(rate)
    return {name: statistics.median(values) for name, values in rates.items()}


@contextmanager
def dramatiq_worker(command: list[str], env: dict[str, str], processes: int) -> Iterator[subprocess.Popen]:
    """A worker started with ``command`` (as deployed, with WORKER_ENV); yields once its ``processes`` are ready."""
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**env, **WORKER_ENV}, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        ready = 0
        for line in process.stderr:
            ready += "ready for action" in line
            if ready == processes:
                break
        else:
            sys.exit(f"the worker did not start: {command}")
        # Keep reading its log so that it never blocks on a full pipe.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
