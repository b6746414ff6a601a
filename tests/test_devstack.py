"""`make run`'s stack: starts everything with embedded defaults, works, and stops completely."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.servers import PROJECT_ROOT, free_port, http, wait_until


def processes_with(marker: str) -> list[int]:
    """Ids of running processes whose environment contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class Stack:
    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.registration_port, self.calendar_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "MAIL_URL", "SECRET_KEY",
                            "REGISTRATION_BASE_URL", "CALENDAR_BASE_URL")}
        env.update(SEMINARE_VAR_DIR=str(var_dir), REGISTRATION_PORT=str(self.registration_port),
                   CALENDAR_PORT=str(self.calendar_port), EMBEDDED_REDIS_PORT=str(free_port()))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.devstack"], cwd=PROJECT_ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any("Strg-C" in line for line in self.output) or self.process.poll() is not None,
                   timeout=90, message="the stack to start")
        assert self.process.poll() is None, "".join(self.output)

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def registration(self) -> str:
        return f"http://127.0.0.1:{self.registration_port}"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(60)


@pytest.mark.slow
def test_run_command_serves_registers_mails_and_stops_everything(tmp_path):
    var_dir = tmp_path / "var"
    stack = Stack(var_dir)
    try:
        status, _, body = http("GET", f"{stack.registration}/api/v1/events")
        assert status == 200
        seminars = json.loads(body)
        assert len(seminars) == 3 and seminars[0]["seats_left"] == 100
        printed = "".join(stack.output)
        assert f"{stack.registration}/events/1" in printed and "/calendar/events.ics" in printed

        status, _, body = http("POST", f"{stack.registration}/api/v1/events/1/registrations",
                               {"name": "Erika Mustermann", "email": "erika@example.org", "consent": True})
        assert (status, json.loads(body)["status"]) == (201, "pending")
        mails = wait_until(lambda: list((var_dir / "mail" / "new").glob("*")), timeout=30,
                           message="the mail in the Maildir")
        assert b"To: Erika Mustermann <erika@example.org>" in mails[0].read_bytes()

        status, _, feed = http("GET", f"http://127.0.0.1:{stack.calendar_port}/calendar/events.ics")
        assert status == 200 and "Junge Wilde".encode() in feed
        assert http("GET", f"{stack.registration}/readyz")[0] == 200
    finally:
        exit_code = stack.stop()
    assert exit_code == 0
    assert processes_with(str(var_dir)) == []

    # A second start reuses the database: no second demo load, the registration is still there.
    again = Stack(var_dir)
    try:
        assert "keine Demo geladen" in "".join(again.output)
        _, _, body = http("GET", f"{again.registration}/api/v1/events/1")
        assert json.loads(body)["seats_left"] == 99
    finally:
        assert again.stop() == 0
    assert processes_with(str(var_dir)) == []
