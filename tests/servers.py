"""Real servers for the tests: a private Redis, an SMTP server, a Dramatiq worker, an HTTP server."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from werkzeug.serving import make_server

from scripts.local_ports import free_port, port_is_free, redis_server_binary

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class RedisServer:
    """A private redis-server on a free port; can be stopped and started again on the same port."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_binary(prefer_system=True), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, message="redis-server to accept connections")

    def _answers(self) -> bool:
        return not port_is_free(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class MailSink:
    """aiosmtpd handler that keeps every received message; can answer with an error code."""

    def __init__(self):
        self.messages: "queue.Queue[EmailMessage]" = queue.Queue()
        self.received: list[EmailMessage] = []
        self.reply_code: str | None = None  # e.g. "451 try later" or "550 no such user"

    async def handle_DATA(self, server, session, envelope: Envelope):
        if self.reply_code:
            return self.reply_code
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(message)
        self.messages.put(message)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; return all received so far."""
        wait_until(lambda: len(self.received) >= count, timeout, message=f"{count} mail(s)")
        return list(self.received)


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port."""

    def __init__(self):
        self.sink = MailSink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class Worker:
    """A real ``dramatiq`` worker process running the notification actors (or those of ``module``)."""

    def __init__(self, env: dict[str, str], threads: int = 2, module: str = "services.notifications.worker"):
        self.env = env
        self.threads = threads
        self.module = module
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", self.module,
             "--processes", "1", "--threads", str(self.threads), "--worker-shutdown-timeout", "5000"],
            cwd=PROJECT_ROOT, env=self.env, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        ready = threading.Event()

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                if "ready for action" in line:
                    ready.set()

        threading.Thread(target=read_log, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise AssertionError("dramatiq worker did not start:\n" + "".join(self.log))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class HttpServer:
    """A WSGI app served over real HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def http(method: str, url: str, json_body=None, headers: dict | None = None, data: bytes | None = None):
    """Make one real HTTP request; returns (status, headers, body bytes) without raising on 4xx/5xx."""
    import json as jsonlib
    import urllib.error
    import urllib.request

    headers = dict(headers or {})
    if json_body is not None:
        data = jsonlib.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class GunicornServer:
    """A service under gunicorn (the production server) on 127.0.0.1 and a free port."""

    def __init__(self, app_spec: str, env: dict[str, str], workers: int = 2, threads: int = 8):
        self.port = free_port()
        self.command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                        "--workers", str(workers), "--threads", str(threads), "--backlog", "512",
                        "--log-level", "warning", app_spec]
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env, start_new_session=True)

        def answers() -> bool:
            assert self.process.poll() is None, "gunicorn stopped at start"
            try:
                return http("GET", f"{self.url}/healthz")[0] == 200
            except OSError:
                return False

        try:
            wait_until(answers, timeout=30, message="gunicorn to answer on /healthz")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


class WebhookReceiver:
    """A partner system's webhook endpoint on 127.0.0.1: keeps every request, answers as it is told.

    ``answers`` are the status codes of the next requests in turn (then 200); a
    ``silence`` of n seconds makes it wait that long before answering at all.
    """

    def __init__(self, answers: list[int] | None = None, silence: float = 0):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.answers = list(answers or [])
        self.silence = silence
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answered = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.silence:
                    receiver._stopping.wait(receiver.silence)  # bounded; ends early when the receiver stops
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver._lock:
                    receiver.answered += 1

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/seminare"

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[dict[str, str], bytes]]:
        """Wait until at least ``count`` requests arrived; return all received so far."""
        wait_until(lambda: len(self.received) >= count, timeout, message=f"{count} webhook request(s)")
        with self._lock:
            return list(self.received)
