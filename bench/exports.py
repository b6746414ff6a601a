"""Attendee exports of 100,000 registrations: CSV time against a plain csv.writer, and peak memory.

Run: ``.venv/bin/python -m bench.exports`` or ``make bench-exports`` (two to four minutes), on SQLite
and, where it runs, PostgreSQL.
The baseline is a plain csv.writer over the same SELECT, streamed through the
same kind of connection into /dev/null; the export adds translation, local
times, answer labels and formula neutralisation on top. Memory is measured in a
fresh process per export, so that neither the data set nor the other export
counts: the rise of its peak RSS over its RSS right before the export.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.report import Row, against, below, print_table
from bench.stack import databases
from services.registration.manage.exports import export_attendees, registrations_query
from services.registration.accounts.principals import Principal
from shared.db import make_engine, make_session_factory, read_session, write_transaction
from shared.migrate import upgrade
from shared.models import (
    Organiser,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
    SeminarStatus,
)
from shared.times import utcnow

REGISTRATIONS = 100_000
INSERT_BATCH = 10_000
ROUNDS = 3
TIME_TARGET = 0.5
MEMORY_TARGET_MB = 150
ROLES = [{"value": "mayor", "label_de": "Ortsbürgermeister/in", "label_en": "Mayor"},
         {"value": "volunteer", "label_de": "Ehrenamtlich", "label_en": "Volunteer"}]


def add_registrations(database_url: str) -> dict[str, int]:
    """A seminar with two questions and REGISTRATIONS registrations; returns the export's scope."""
    upgrade(database_url)
    engine = make_engine(database_url)
    now = utcnow().replace(microsecond=0)
    with write_transaction(make_session_factory(engine)) as session:
        organiser = Organiser(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Stiftung Mitarbeit",
                              contact_email="team@mitarbeit.example", privacy_policy_url="https://example.org/p")
        seminar = Seminar(organiser=organiser, title="Kommunal Engagiert: Lasttest", status=SeminarStatus.PUBLISHED,
                          starts_at=now + timedelta(days=30), ends_at=now + timedelta(days=30, hours=2),
                          capacity=None)
        seminar.questions = [
            Question(position=1, key="organisation", kind=QuestionKind.SHORT_TEXT, label_de="Organisation",
                     label_en="Organisation"),
            Question(position=2, key="role", kind=QuestionKind.SINGLE_CHOICE, label_de="Rolle", label_en="Role",
                     options=ROLES),
        ]
        session.add(seminar)
        session.flush()
        scope = {"organiser_id": organiser.id, "seminar_id": seminar.id}
        for first in range(0, REGISTRATIONS, INSERT_BATCH):
            session.execute(insert(Registration), [
                registration(seminar.id, n, now - timedelta(seconds=REGISTRATIONS - n))
                for n in range(first, first + INSERT_BATCH)
            ])
    engine.dispose()
    return scope


def registration(seminar_id: int, n: int, created_at) -> dict:
    """Column values of the n-th registration: mostly confirmed, every tenth on the waiting list."""
    waiting = n % 10 == 0
    return dict(
        seminar_id=seminar_id, status=RegistrationStatus.WAITLISTED if waiting else RegistrationStatus.CONFIRMED,
        name=f"Teilnehmerin Müller {n}", email=f"person{n}@example.org", email_key=f"person{n}@example.org",
        answers={"organisation": f"Ortsgemeinde Kell am See {n % 500}", "role": ROLES[n % 2]["value"]},
        consent_version="2026-11-de-en-1", consent_at=created_at, created_at=created_at,
        confirmed_at=None if waiting else created_at + timedelta(minutes=3),
        email_confirmed_at=created_at + timedelta(minutes=3), source_page="https://partner.example/seminare",
    )


def _arguments(scope: dict[str, int]) -> dict:
    """The export's arguments for a scope of ids: the organiser's admin exporting the seminar."""
    return {"by": Principal(organiser_id=scope["organiser_id"], role=Role.ADMIN, actor="bench"),
            "seminar_id": scope["seminar_id"]}


def export_seconds(sessions, scope: dict[str, int]) -> float:
    """Time to produce every chunk of the CSV export."""
    started = time.perf_counter()
    for _chunk in export_attendees(sessions, **_arguments(scope)).chunks:
        pass
    return time.perf_counter() - started


def baseline_seconds(sessions, scope: dict[str, int]) -> float:
    """Time of a plain csv.writer over the same SELECT, streamed the same way, into /dev/null."""
    started = time.perf_counter()
    with read_session(sessions) as session, open(os.devnull, "w", encoding="utf-8", newline="") as sink:
        result = session.connection().execute(
            registrations_query([scope["seminar_id"]], None),
            execution_options={"stream_results": True, "yield_per": 1000},
        )
        csv.writer(sink, delimiter=";").writerows(result)
    return time.perf_counter() - started


def times(database_url: str, scope: dict[str, int]) -> tuple[float, float]:
    """Median seconds of the CSV export and of the baseline."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    export_seconds(sessions, scope)  # warm-up: connection, caches, page cache
    measured: dict[str, list[float]] = {"export": [], "base": []}
    # Interleaved rounds, median of each: a noisy neighbour then hurts both sides alike.
    for _round in range(ROUNDS):
        measured["base"].append(baseline_seconds(sessions, scope))
        measured["export"].append(export_seconds(sessions, scope))
    engine.dispose()
    return statistics.median(measured["export"]), statistics.median(measured["base"])


def memory(database_url: str, scope: dict[str, int], fmt: str) -> dict[str, float]:
    """Peak memory of one export, measured in a fresh process (see ``measure_in_child``)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.exports", "--child", fmt, database_url, json.dumps(scope)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def measure_in_child(fmt: str, database_url: str, scope: dict[str, int]) -> None:
    """Run one export to the end and print its memory rise, absolute peak (MB) and seconds as JSON."""
    sessions = make_session_factory(make_engine(database_url))
    before = status_kb("VmRSS")
    try:
        # Reset the high-water mark to the current RSS, so that it covers the export alone
        # (importing the services peaks higher than the export); without the reset the
        # rise can only come out higher, never hide one.
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass
    started = time.perf_counter()
    for _chunk in export_attendees(sessions, fmt=fmt, **_arguments(scope)).chunks:
        pass
    seconds = time.perf_counter() - started
    # ru_maxrss is the same high-water mark, but one that an exited thread has already
    # raised to the import peak stays there; VmHWM is the resettable one.
    rise = status_kb("VmHWM") - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, whole life of the process
    print(json.dumps({"rise_mb": rise / 1024, "peak_mb": peak / 1024, "seconds": seconds}))


def status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak), in kB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def measure(database_url: str, name: str) -> list[Row]:
    """Rows of one database: CSV time against the baseline, then memory of CSV and XLSX."""
    scope = add_registrations(database_url)
    export, base = times(database_url, scope)
    rows = [against(f"CSV export time, {name}", export, base, "s", TIME_TARGET, lower_is_better=True)]
    for fmt in ("csv", "xlsx"):
        figures = memory(database_url, scope, fmt)
        rows.append(below(f"{fmt.upper()} export memory rise, {name}", figures["rise_mb"], "MB", MEMORY_TARGET_MB,
                          note=f"process peak {figures['peak_mb']:.0f} MB, export {figures['seconds']:.1f} s"))
    return rows


def run() -> list[Row]:
    """Every export figure, on SQLite and, where it runs, PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp), "exports") as urls:
        return [row for name, database_url in urls for row in measure(database_url, name)]


def main() -> int:
    """Run the export benchmark and print its table."""
    print_table(f"attendee export, {REGISTRATIONS} registrations with 2 questions; time: median of {ROUNDS} "
                "interleaved rounds, baseline a plain csv.writer over the same SELECT into /dev/null, ratio "
                "baseline/export; memory: peak RSS rise during the export in a fresh process", run())
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        measure_in_child(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
