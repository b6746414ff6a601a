"""Rate limits for registration posts, per IP address and per email address, kept in Redis."""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from shared.config import Settings
from shared.redis_keys import rate_limit_prefix

# Every way to register: the JSON API and the server-rendered form.
REGISTRATION_ENDPOINTS = ("public_api.Registrations", "pages.seminar_form_post")


def install_limits(app: Flask, settings: Settings) -> Limiter:
    """Limit the registration endpoints of ``app``; counters live in the shared Redis."""
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.redis_url,
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
        key_prefix=rate_limit_prefix(),
        # X-RateLimit-* headers on every answer would cost two more Redis round trips
        # per registration; only a refused request needs to know when to come back.
        headers_enabled=False,
        # If Redis is down, registrations go on without limits rather than failing.
        swallow_errors=True,
    )
    decorators = []
    if settings.rate_limit_per_email:
        decorators.append(limiter.limit(
            settings.rate_limit_per_email,
            key_func=lambda: email_key(settings.secret_key),
            scope="registration-email",
        ))
    if settings.rate_limit_per_ip:
        decorators.append(limiter.limit(settings.rate_limit_per_ip, scope="registration-ip"))
    for endpoint in REGISTRATION_ENDPOINTS:
        for decorate in decorators:
            app.view_functions[endpoint] = decorate(app.view_functions[endpoint])

    @app.after_request
    def _retry_after(response):
        breached = limiter.current_limit if response.status_code == 429 else None
        if breached is not None:
            reset_time = breached.window[0]  # when the breached window ends, in epoch seconds
            response.headers["Retry-After"] = str(max(1, math.ceil(reset_time - time.time())))
        return response

    return limiter


def email_key(secret_key: str) -> str:
    """A keyed hash of the submitted email address: no address ever lands in Redis."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email") if isinstance(body, dict) or hasattr(body, "getlist") else None
    if not isinstance(email, str) or not email.strip():
        return "email:none"
    digest = hmac.new(secret_key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return f"email:{digest.hexdigest()[:32]}"
