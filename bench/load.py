"""Running wrk against a URL and reading its figures; shared by the HTTP benchmarks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

CONNECTIONS = 16
# The production settings of the web services (docker-compose.yml): sync workers.
GUNICORN = {"workers": 4, "threads": 1}


def require_wrk() -> None:
    """Stop with a clear message when wrk is missing (``make bench`` installs it)."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")


def wrk(url: str, seconds: int, script: Path | None = None, headers: dict[str, str] | None = None) -> tuple[float, int]:
    """Requests per second and the number of answers that were neither 2xx nor 3xx."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    if script:
        command += ["-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0
