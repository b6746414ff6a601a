"""Rate limits for registration posts, per IP address and per email address, kept in Redis.

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
    """At most ``amount`` registration posts per ``seconds`` from one IP address or one email address."""

    scope: str  # "ip" or "email"
    amount: int
    seconds: int


def parse_rules(scope: str, text: str) -> list[Rule]:
    """Rules from a setting such as ``30/minute;300/hour`` (empty: none)."""
    if not text.strip():
        return []
    return [Rule(scope, item.amount, item.get_expiry()) for item in parse_many(text)]


class RegistrationLimits:
    """Counts posts (registrations, or logins) in Redis and says how long a refused client must wait."""

    def __init__(self, client: redis.Redis, settings: Settings, purpose: str = "registration"):
        self.rules = parse_rules("ip", settings.rate_limit_per_ip) + parse_rules("email", settings.rate_limit_per_email)
        # Part of every counter's name: logins and registrations never share a counter.
        self._purpose = purpose
        self._secret = settings.secret_key
        self._count = client.register_script(_COUNT)

    def seconds_to_wait(self, now: float | None = None) -> int | None:
        """Count this request; None if it is allowed, else the seconds until it would be."""
        if not self.rules:
            return None
        now = int(now if now is not None else time.time())
        identities = {"ip": request.remote_addr or "unknown", "email": email_key(self._secret)}
        keys, args = [], []
        for rule in self.rules:
            window = now // rule.seconds
            keys.append(f"{rate_limit_prefix()}:{self._purpose}:{rule.scope}:{rule.amount}/{rule.seconds}s:{identities[rule.scope]}:{window}")
            args += [rule.amount, rule.seconds]
        try:
            exceeded = int(self._count(keys=keys, args=args))
        except redis.RedisError as exc:
            # If Redis is down, registrations go on without limits rather than failing.
            log.warning("rate limits not checked: %s", exc.__class__.__name__)
            return None
        if not exceeded:
            return None
        rule = self.rules[exceeded - 1]
        return max(1, (now // rule.seconds + 1) * rule.seconds - now)


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
