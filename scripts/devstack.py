"""Run the whole system locally: ``make run`` (or ``python -m scripts.devstack``).

Migrates the database, loads the demo seminars into an empty one, starts an
embedded Redis when REDIS_URL is not set, then runs registration (8000),
calendar_feed (8001), the notifications and webhook workers and the scheduler until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from shared.config import VAR_DIR, Settings
from shared.workers import WORKER_ENV
from services import notifications, webhooks

from scripts.local_ports import free_port, port_is_free, redis_server_binary

HOST = os.environ.get("HOST", "127.0.0.1")
REGISTRATION_PORT = int(os.environ.get("REGISTRATION_PORT", "8000"))
CALENDAR_PORT = int(os.environ.get("CALENDAR_PORT", "8001"))
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6380"))
METRICS_PORT = int(os.environ.get("METRICS_PORT", "9191"))
WEBHOOK_METRICS_PORT = int(os.environ.get("WEBHOOK_METRICS_PORT", "9192"))


DEMO_ADMIN = "admin@seminare.localhost"
DEMO_ORGANISERS = ("stiftung-engagement", "landkreis-trier-saarburg")


def secret_key() -> str:
    """The SECRET_KEY from the environment, or one generated once and kept in var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    return _kept_secret("secret_key", 48)


def _kept_secret(name: str, size: int) -> str:
    # Generated on the first start, readable only by the developer, the same afterwards.
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(size))
        path.chmod(0o600)
    return path.read_text().strip()


def create_demo_admin(python: str, env: dict[str, str]) -> str:
    """Make the demo account an admin of the demo organisers; returns its password."""
    password = _kept_secret("demo_admin_password", 12)
    for organiser in DEMO_ORGANISERS:
        subprocess.run(
            [python, "-m", "services.registration.admin", "create-admin", "--organiser", organiser,
             "--email", DEMO_ADMIN, "--name", "Demo-Admin"],
            env={**env, "ADMIN_PASSWORD": password}, check=True, stdout=subprocess.DEVNULL,
        )
    return password


def start_embedded_redis() -> tuple[subprocess.Popen, str]:
    """Start a private Redis/Valkey on 127.0.0.1 that keeps its data in var/redis."""
    port = EMBEDDED_REDIS_PORT if port_is_free(EMBEDDED_REDIS_PORT) else free_port()
    data = VAR_DIR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redis_server_binary(prefer_system=False), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
         "--appendonly", "yes", "--save", "60 1", "--protected-mode", "yes", "--loglevel", "warning"],
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_port(port, process, "redis")
    return process, url


def metrics_dir(service: str) -> str:
    """An empty var/metrics/<service> for prometheus_client's per-process files (old ones would add up)."""
    path = VAR_DIR / "metrics" / service
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    """Wait until a started process listens on its port, or stop with its exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} stopped at start (exit code {process.returncode}).")
        if not port_is_free(port):
            return
        time.sleep(0.1)
    sys.exit(f"{name} did not start listening on port {port} within {timeout:.0f} s.")


def main() -> int:
    """Start everything, print where to look, and stop everything on Ctrl-C."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", Settings.database_url)
    env.setdefault("MAIL_URL", Settings.mail_url)
    env["SECRET_KEY"] = secret_key()
    env.setdefault("REGISTRATION_BASE_URL", f"http://{HOST}:{REGISTRATION_PORT}")
    env.setdefault("CALENDAR_BASE_URL", f"http://{HOST}:{CALENDAR_PORT}")
    env.setdefault("LOG_FORMAT", "text")
    env["METRICS_PORT"] = str(METRICS_PORT if port_is_free(METRICS_PORT) else free_port())
    env["WEBHOOK_METRICS_PORT"] = str(WEBHOOK_METRICS_PORT if port_is_free(WEBHOOK_METRICS_PORT) else free_port())
    # Webhooks to http:// and this machine, for a receiver the developer runs next to the stack.
    env.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")
    for port in (REGISTRATION_PORT, CALENDAR_PORT):
        if not port_is_free(port):
            sys.exit(f"Port {port} is in use: is the system already running? Stop it or set "
                     "REGISTRATION_PORT / CALENDAR_PORT.")

    processes: dict[str, subprocess.Popen] = {}
    if not env.get("REDIS_URL"):
        processes["redis"], env["REDIS_URL"] = start_embedded_redis()

    python = sys.executable
    subprocess.run([python, "-m", "shared.migrate"], env=env, check=True)
    subprocess.run([python, "-m", "shared.demo"], env=env, check=True)
    admin_password = create_demo_admin(python, env)

    # No gunicorn access log: it shows raw paths, which carry participant tokens (the apps log URL rules).
    gunicorn = [python, "-m", "gunicorn", "--workers", "2"]
    commands = {
        "registration": gunicorn + ["--bind", f"{HOST}:{REGISTRATION_PORT}", "services.registration:create_app()"],
        "calendar_feed": gunicorn + ["--bind", f"{HOST}:{CALENDAR_PORT}", "services.calendar_feed:create_app()"],
        "worker": notifications.worker_command([python, "-m"]),
        "webhook_worker": webhooks.worker_command([python, "-m"]),
        "scheduler": [python, "-m", "services.scheduler"],
    }
    try:
        for name, command in commands.items():
            service_env = {**env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir(name)}
            if name == "webhook_worker":
                service_env |= {**WORKER_ENV, "METRICS_PORT": env["WEBHOOK_METRICS_PORT"]}
            elif name == "worker":
                service_env |= WORKER_ENV
            processes[name] = subprocess.Popen(command, env=service_env, start_new_session=True)
        wait_for_port(REGISTRATION_PORT, processes["registration"], "registration")
        wait_for_port(CALENDAR_PORT, processes["calendar_feed"], "calendar_feed")
        print_welcome(env, admin_password)
        return supervise(processes)
    finally:
        stop_all(processes)


def print_welcome(env: dict[str, str], admin_password: str) -> None:
    """Tell the developer where to look."""
    registration = env["REGISTRATION_BASE_URL"]
    maildir = env["MAIL_URL"].removeprefix("maildir:")
    print(f"""
Alles läuft / everything is running:
  Seminare und Anmeldeformular:  {registration}/
  Ein Demo-Seminar:              {registration}/events/1
  Öffentliche API:               {registration}/api/v1/events
  Veranstalter-Seiten:           {registration}/manage/login
                                 {DEMO_ADMIN} / {admin_password}
  Kalender-Feed:                 {env['CALENDAR_BASE_URL']}/calendar/events.ics
  Metriken (Prometheus):         {registration}/metrics
                                 {env['CALENDAR_BASE_URL']}/metrics
                                 http://127.0.0.1:{env['METRICS_PORT']}/metrics (Worker)
                                 http://127.0.0.1:{env['WEBHOOK_METRICS_PORT']}/metrics (Webhook-Worker)
  Mails (Maildir):               {maildir}/new
  Redis:                         {env['REDIS_URL']}
  Datenbank:                     {env['DATABASE_URL']}

Anmelden mit curl / register with curl:
  curl -X POST {registration}/api/v1/events/1/registrations -H 'Content-Type: application/json' \\
       -d '{{"name": "Erika Mustermann", "email": "erika@example.org", "consent": true}}'

Beenden mit Strg-C / stop with Ctrl-C.
""", flush=True)


def supervise(processes: dict[str, subprocess.Popen]) -> int:
    """Wait for Ctrl-C or SIGTERM; if any process dies, stop the rest too."""
    stop = {"signal": False}

    def _stop(*_):
        stop["signal"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop["signal"]:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} stopped unexpectedly (exit code {process.returncode}); stopping all.",
                      file=sys.stderr)
                return 1
        time.sleep(0.5)
    return 0


def stop_all(processes: dict[str, subprocess.Popen], timeout: float = 15) -> None:
    """Terminate every started process group, the web servers first and Redis last."""
    for name in [n for n in processes if n != "redis"] + (["redis"] if "redis" in processes else []):
        process = processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    sys.exit(main())
