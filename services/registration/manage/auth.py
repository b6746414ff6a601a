"""Who is asking: bearer tokens for the organiser API, signed session cookies and CSRF tokens for its pages."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps

from flask import Flask, g, request, session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, HTTPException, NotFound, Unauthorized

from shared.config import Settings
from shared.models import Account, Role
from services.registration.accounts.api_tokens import principal_for_token
from services.registration.accounts.members import principal_for_account
from services.registration.accounts.principals import Principal
from services.registration.accounts.sessions import end_all_sessions, end_session, session_account, start_session
from services.registration.web.context import current_runtime

CSRF_FIELD = "csrf_token"
# The cookie's field with the session's secret (``accounts.sessions``).
SESSION_FIELD = "session"


def configure_sessions(app: Flask, settings: Settings) -> None:
    """Session cookies only for the organiser pages: signed, HttpOnly, SameSite, Secure on https."""
    app.config.update(
        SESSION_COOKIE_NAME="seminare_manage",
        # The public pages, the API and embedded forms never see the cookie.
        SESSION_COOKIE_PATH="/manage",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.registration_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


# --- the organiser API -----------------------------------------------------------------


def api_principal(needed: Role):
    """Decorator: the view runs only for a valid bearer token whose role allows ``needed``.

    The principal is passed as the keyword argument ``by``.
    """

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            principal = _bearer_principal()
            if principal is None:
                raise _unauthorized()
            if not principal.role.allows(needed):
                raise Forbidden()
            return view(*args, by=principal, **kwargs)

        return checked

    return decorate


def _bearer_principal() -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return principal_for_token(current_runtime(), token.strip())


def _unauthorized() -> HTTPException:
    return Unauthorized(www_authenticate=WWWAuthenticate("bearer", {"realm": "seminare"}))


# --- the organiser pages -----------------------------------------------------------------


def log_in(account: Account) -> None:
    """Start a fresh session for the account (a new CSRF token too: no fixation)."""
    session.clear()
    session.permanent = True
    session[SESSION_FIELD] = start_session(current_runtime(), account.id)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def log_out() -> None:
    """End the session on the server too: a copy of the cookie opens nothing from now on."""
    secret = session.get(SESSION_FIELD)
    if secret:
        end_session(current_runtime(), secret)
    session.clear()


def log_out_everywhere() -> int:
    """End every session of the logged-in account, on every device; returns how many there were."""
    account = current_account()
    if account is None:
        raise Unauthorized()
    count = end_all_sessions(current_runtime(), account.id)
    session.clear()
    return count


def current_account() -> Account | None:
    """The logged-in account, if the session still holds (checked once per request)."""
    if "account" not in g:
        secret = session.get(SESSION_FIELD)
        g.account = session_account(current_runtime(), secret) if isinstance(secret, str) else None
    return g.account


def page_principal(organiser_slug: str, needed: Role) -> Principal:
    """The logged-in account acting for this organiser; 404 if it has no role there, 403 if too low."""
    account = current_account()
    if account is None:
        raise Unauthorized()
    principal = principal_for_account(current_runtime(), account, organiser_slug)
    if principal is None:
        # Another organiser's pages look exactly like pages that do not exist.
        raise NotFound()
    if not principal.role.allows(needed):
        raise Forbidden()
    return principal


def csrf_token() -> str:
    """The session's CSRF token for forms (one is created for visitors of the login page)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """Refuse a form post whose CSRF token is missing or not this session's."""
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not secrets.compare_digest(expected, sent):
        error = Forbidden()
        error.problem_code = "csrf_failed"
        raise error
