"""Log lines as JSON (or text) on stderr, each carrying the id of the request or notification it belongs to.

LOG_FORMAT=json (default) or text. Messages must never contain personal data:
log ids and URL rules, never names, addresses, tokens or raw paths.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from types import MappingProxyType

from flask import Flask, request

# The ids every line of the current request (web) or message (worker) carries.
_context: ContextVar[MappingProxyType] = ContextVar("log_context", default=MappingProxyType({}))
# Attributes every LogRecord has; anything else on a record was passed as ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# A client's X-Request-ID is kept only if it is this harmless; otherwise we make one.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
access_log = logging.getLogger("seminare.access")


def bind(**fields: object) -> Token:
    """Attach ``fields`` (ids only) to every log line until ``unbind``."""
    return _context.set(MappingProxyType({**_context.get(), **fields}))


def unbind(token: Token) -> None:
    """Forget the fields of the matching ``bind``."""
    _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids and any ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, followed by the bound ids and any ``extra`` as key=value."""

    def __init__(self):
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as text with its ids at the end."""
        fields = " ".join(f"{key}={value}" for key, value in vars(record).items() if key not in _STANDARD)
        return f"{super().format(record)} {fields}".rstrip()


def _record_with_context(factory):
    # A record factory rather than a handler filter: every handler (also pytest's
    # caplog, dramatiq's) then sees the ids, not only the one installed here.
    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        for key, value in _context.get().items():
            setattr(record, key, value)
        return record

    make_record.adds_log_context = True
    return make_record


def configure_logging(*, replace_handlers: bool = False) -> None:
    """Send INFO and above to stderr in LOG_FORMAT; ``replace_handlers`` drops a handler set up before (dramatiq's)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "adds_log_context", False):
        logging.setLogRecordFactory(_record_with_context(factory))
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "seminare", False)]
    if replace_handlers:
        root.handlers = ours
    if not ours:
        handler = logging.StreamHandler(sys.stderr)
        handler.seminare = True
        handler.setFormatter(TextFormatter() if os.environ.get("LOG_FORMAT") == "text" else JsonFormatter())
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The development server logs each raw path, and paths carry participant tokens;
    # the access line of ``shared.logs`` (with the URL rule) takes its place.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def route() -> str:
    """The URL rule of the current request (``/r/<token>``), never its path, which may carry a token."""
    try:
        rule = request.url_rule
    except RuntimeError:  # outside a request: an answer a middleware made itself
        return "unmatched"
    return rule.rule if rule is not None else "unmatched"


def install_request_logging(app: Flask) -> None:
    """Give each request an id (echoed in X-Request-ID); with ACCESS_LOG=1 also one access line per request.

    The access line is off by default, as gunicorn's own is: the metrics count every
    request by route and status already.
    """
    access = os.environ.get("ACCESS_LOG", "").lower() in ("1", "true", "on")
    app.wsgi_app = RequestIds(app.wsgi_app, access)


class RequestIds:
    """WSGI middleware: binds a request id to every log line of the request and answers with it.

    A middleware rather than Flask hooks: each hook call costs Flask a coroutine check,
    and together they took a fifth of a cached feed answer.
    """

    def __init__(self, wsgi_app, access: bool):
        self.wsgi_app = wsgi_app
        self.access = access

    def __call__(self, environ, start_response):
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if offered and _SAFE_REQUEST_ID.fullmatch(offered) else new_request_id()
        token = bind(request_id=request_id)
        started = time.perf_counter()

        def start(status: str, headers: list, exc_info=None):
            # Called inside Flask's request context, so the URL rule is still known here.
            headers.append(("X-Request-ID", request_id))
            if self.access:
                _log_request(environ["REQUEST_METHOD"], int(status[:3]), started)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            unbind(token)


def new_request_id() -> str:
    """A process-wide unique id: a random prefix per process and a counter (no system call per request)."""
    return f"{_id_prefix}-{next(_id_counter):x}"


def _new_id_prefix() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = secrets.token_hex(6), itertools.count(1)


_new_id_prefix()
# gunicorn and dramatiq fork: each child needs its own prefix.
os.register_at_fork(after_in_child=_new_id_prefix)


def _log_request(method: str, status: int, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    access_log.info("%s %s %s %.1f ms", method, route(), status, duration_ms,
                    extra={"method": method, "route": route(), "status": status, "duration_ms": duration_ms})
