"""Absolute public URLs that pages, mails and feeds link to."""

from __future__ import annotations

from shared.config import Settings
from shared.tokens import REGISTRATION_PAGE, make_token


def seminar_page_url(settings: Settings, seminar_id: int) -> str:
    """Public page of a seminar with its registration form."""
    return f"{settings.registration_base_url}/events/{seminar_id}"


def participant_page_url(settings: Settings, registration_id: int, token_nonce: str) -> str:
    """The participant's own page, reachable only through the signed token."""
    token = make_token(settings.secret_key, REGISTRATION_PAGE, registration_id, token_nonce)
    return f"{settings.registration_base_url}/r/{token}"


def all_seminars_feed_url(settings: Settings) -> str:
    """The calendar feed with every published seminar."""
    return f"{settings.calendar_base_url}/calendar/events.ics"
