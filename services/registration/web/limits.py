"""Rate limits, kept in Redis: registration posts per IP address and per email address, and the counters logins use.

Fixed windows ("30/minute;300/hour"), counted under keys that carry the window's
number, so they expire by themselves. All counters of one request are checked by
one Lua script: a single Redis round trip, where checking each limit on its own
(as flask-limiter does) cost a quarter of a registration's time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Callable

import redis
from flask import Flask, request
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from shared.config import Settings
from shared.redis_keys import rate_limit_prefix

log = logging.getLogger(__name__)

# Every way to register: the JSON API, the server-rendered form and the embedded form.
REGISTRATION_ENDPOINTS = ("public_api.Registrations", "pages.seminar_form_post", "embed.seminar_form_post")

# KEYS: one counter per rule; ARGV: amount and window seconds per rule.
# Returns the 1-based index of the first rule the request exceeds, or 0.
_COUNT = """
local exceeded = 0
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if exceeded == 0 and count > tonumber(ARGV[2 * i - 1]) then exceeded = i end
end
return exceeded
"""


@dataclass(frozen=True)
class Rule:
    """At most ``amount`` events per ``seconds`` for one identity of ``scope``.

    Scopes: ``ip`` (the client's address), ``email`` (a keyed hash of the address
    in the form), ``ip+email`` (both: one client trying one address).
    """

    scope: str
    amount: int
    seconds: int

    def wait(self, now: int) -> int:
        """Seconds from ``now`` until this rule's window ends."""
        return max(1, (now // self.seconds + 1) * self.seconds - now)


def parse_rules(scope: str, text: str) -> list[Rule]:
    """Rules from a setting such as ``30/minute;300/hour`` (empty: none)."""
    if not text.strip():
        return []
    return [Rule(scope, item.amount, item.get_expiry()) for item in parse_many(text)]


class Windows:
    """Fixed-window counters in Redis for one purpose; a check of several rules is one round trip.

    If Redis is down, nothing is counted and nothing refused: registrations and
    logins go on without limits rather than failing.
    """

    def __init__(self, client: redis.Redis, secret_key: str, purpose: str, clock: Callable[[], float] | None = None):
        # Part of every counter's name: logins and registrations never share a counter.
        self._purpose = purpose
        self._secret = secret_key
        self._client = client
        self._clock = clock or (lambda: time.time())  # looked up at each call, so a test may fix the module's clock
        self._count = client.register_script(_COUNT)

    def count(self, rules: list[Rule]) -> int | None:
        """Count this request under each rule; None if none is exceeded, else the seconds to wait."""
        if not rules:
            return None
        now = int(self._clock())
        keys = [self._key(rule, now) for rule in rules]
        args = [value for rule in rules for value in (rule.amount, rule.seconds)]
        try:
            exceeded = int(self._count(keys=keys, args=args))
        except redis.RedisError as exc:
            log.warning("rate limits not checked: %s", exc.__class__.__name__)
            return None
        return rules[exceeded - 1].wait(now) if exceeded else None

    def counted(self, rules: list[Rule]) -> list[int]:
        """How often each rule has counted this request's identity in its current window (nothing is counted)."""
        now = int(self._clock())
        try:
            values = self._client.mget([self._key(rule, now) for rule in rules])
        except redis.RedisError as exc:
            log.warning("rate limits not read: %s", exc.__class__.__name__)
            return [0] * len(rules)
        return [int(value or 0) for value in values]

    def seconds_left(self, rule: Rule) -> int:
        """Seconds until ``rule``'s current window ends."""
        return rule.wait(int(self._clock()))

    def _key(self, rule: Rule, now: int) -> str:
        identity = _identity(rule.scope, self._secret)
        return (f"{rate_limit_prefix()}:{self._purpose}:{rule.scope}:{rule.amount}/{rule.seconds}s:{identity}:"
                f"{now // rule.seconds}")


def _identity(scope: str, secret_key: str) -> str:
    """Who a rule counts for this request: the client's address, the form's email address (hashed), or both."""
    ip = request.remote_addr or "unknown"
    if scope == "ip":
        return ip
    if scope == "email":
        return email_key(secret_key)
    return f"{ip}:{email_key(secret_key)}"


class RegistrationLimits:
    """The registration posts' limits per IP address and per email address (``RATE_LIMIT_PER_IP``, ``…_PER_EMAIL``)."""

    def __init__(self, client: redis.Redis, settings: Settings, clock: Callable[[], float] | None = None):
        self.rules = parse_rules("ip", settings.rate_limit_per_ip) + parse_rules("email", settings.rate_limit_per_email)
        self._windows = Windows(client, settings.secret_key, "registration", clock)

    def seconds_to_wait(self) -> int | None:
        """Count this request; None if it is allowed, else the seconds until it would be."""
        return self._windows.count(self.rules)


def install_limits(app: Flask, client: redis.Redis, settings: Settings) -> RegistrationLimits:
    """Limit the registration endpoints of ``app``; a refused post gets 429 with Retry-After."""
    limits = RegistrationLimits(client, settings)

    @app.before_request
    def _limit():
        if request.method == "POST" and request.endpoint in REGISTRATION_ENDPOINTS:
            wait = limits.seconds_to_wait()
            if wait is not None:
                raise TooManyRequests(retry_after=wait)

    return limits


def email_key(secret_key: str) -> str:
    """A keyed hash of the submitted email address: no address ever lands in Redis."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email") if isinstance(body, dict) or hasattr(body, "getlist") else None
    if not isinstance(email, str) or not email.strip():
        return "none"
    # surrogatepass: a lone surrogate is refused by the schema later, it must not fail here first.
    digest = hmac.new(secret_key.encode(), email.strip().lower().encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:32]
