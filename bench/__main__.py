"""Every benchmark in one run: ``python -m bench`` (``make bench``) prints one table and writes it as JSON.

Each benchmark starts what it needs on 127.0.0.1 and stops it again, also on
Ctrl-C or failure; the whole run takes about eight minutes on two cores.
"""

from __future__ import annotations

import os
import sys
import time

from bench import exports, feeds, mail, public_read, registration, webhooks
from bench.load import CONNECTIONS, GUNICORN, require_wrk
from bench.report import Row, print_table, write_json


BENCHMARKS = {
    "registration": registration.run,
    "public reads": public_read.run,
    "calendar feed": feeds.run,
    "mail": mail.run,
    "webhooks": webhooks.run,
    "exports": exports.run,
}


def main() -> int:
    """Run every benchmark in turn, then print the combined table, the targets met and the total time."""
    require_wrk()
    started = time.perf_counter()
    rows: list[Row] = []
    for name, run in BENCHMARKS.items():
        print(f"[{time.perf_counter() - started:5.0f} s] {name} ...", flush=True)
        rows += run()
    seconds = time.perf_counter() - started
    print_table(f"all benchmarks: gunicorn {GUNICORN}, wrk {CONNECTIONS} connections, worker "
                f"{mail.WORKER_PROCESSES} x {mail.WORKER_THREADS}, medians of interleaved rounds; {os.cpu_count()} "
                "cores; ratio = path speed / baseline speed measured in the same run", rows)
    record = write_json(rows, seconds, {"gunicorn": GUNICORN, "wrk_connections": CONNECTIONS,
                                        "worker": [mail.WORKER_PROCESSES, mail.WORKER_THREADS]})
    targets = [row for row in rows if row.met is not None]
    missed = [row.path for row in targets if not row.met]
    print(f"\ntargets met: {len(targets) - len(missed)} of {len(targets)}"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    print(f"total time {seconds / 60:.1f} min; written to {record} and {record.with_name('latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
