"""How often someone may try to log in: guessing passwords must be slow, and must not lock the owner out.

Every attempt counts per client address (10 a minute, 50 an hour) and per client
and login name (5 a minute). Failed attempts also count per login name, from
anywhere (20 an hour); once that many have failed, only clients that have failed
for this name themselves are refused. So an attacker spreading guesses over many
addresses meets the slower limit, while the owner, typing the right password on
their own device, is never locked out by someone else's failures.
"""

from __future__ import annotations

import redis

from shared.config import Settings
from services.registration.web.limits import Rule, Windows

ATTEMPTS = [Rule("ip", 10, 60), Rule("ip", 50, 3600), Rule("ip+email", 5, 60)]
FAILURES_FOR_ADDRESS = Rule("email", 20, 3600)
FAILED_HERE = Rule("ip+email", 10**6, 3600)  # counts this client's failures for the address; never refuses itself


class LoginLimits:
    """The limits above, counted in Redis under the login's own names."""

    def __init__(self, client: redis.Redis, settings: Settings):
        self._windows = Windows(client, settings.secret_key, "login")

    def seconds_to_wait(self) -> int | None:
        """Count this attempt; None if it may go on, else the seconds until it may."""
        wait = self._windows.count(ATTEMPTS)
        if wait is not None:
            return wait
        failed_here, failed_for_address = self._windows.counted([FAILED_HERE, FAILURES_FOR_ADDRESS])
        if failed_here and failed_for_address >= FAILURES_FOR_ADDRESS.amount:
            return self._windows.seconds_left(FAILURES_FOR_ADDRESS)
        return None

    def failed(self) -> None:
        """Note that this attempt had a wrong address or password."""
        self._windows.count([FAILED_HERE, FAILURES_FOR_ADDRESS])
