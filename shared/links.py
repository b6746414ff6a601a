"""Absolute public URLs that pages, mails and feeds link to."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from shared.config import Settings
from shared.tokens import PERSONAL_FEED, REGISTRATION_PAGE, make_token


def seminar_page_url(settings: Settings, seminar_id: int) -> str:
    """Public page of a seminar with its registration form."""
    return f"{settings.registration_base_url}/events/{seminar_id}"


def participant_page_url(settings: Settings, registration_id: int, token_nonce: str) -> str:
    """The participant's own page, reachable only through the signed token."""
    token = make_token(settings.secret_key, REGISTRATION_PAGE, registration_id, token_nonce)
    return f"{settings.registration_base_url}/r/{token}"


def series_feed_url(settings: Settings, slug: str) -> str:
    """The calendar feed of one series."""
    return f"{settings.calendar_base_url}/calendar/series/{quote(slug)}.ics"


def organiser_feed_url(settings: Settings, slug: str) -> str:
    """The calendar feed of everything one organiser publishes."""
    return f"{settings.calendar_base_url}/calendar/organisers/{quote(slug)}.ics"


def seminar_feed_url(settings: Settings, seminar_id: int) -> str:
    """The calendar feed of a single seminar (follows moves and a cancellation)."""
    return f"{settings.calendar_base_url}/calendar/events/{seminar_id}.ics"


def personal_feed_url(settings: Settings, registration_id: int, feed_nonce: str) -> str:
    """A participant's own feed (their confirmed seminars, with join links); secret."""
    token = make_token(settings.secret_key, PERSONAL_FEED, registration_id, feed_nonce)
    return f"{settings.calendar_base_url}/calendar/personal/{token}.ics"


def webcal_url(feed_url: str) -> str:
    """The same feed as a webcal:// link, which calendar apps open as a subscription."""
    return "webcal://" + feed_url.split("://", 1)[1]


def google_subscribe_url(feed_url: str) -> str:
    """Opens Google Calendar's "add by URL" for the feed."""
    return "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal_url(feed_url)})


def outlook_subscribe_url(feed_url: str, name: str) -> str:
    """Opens Outlook on the web's "subscribe from web" for the feed."""
    return "https://outlook.live.com/calendar/0/addfromweb?" + urlencode({"url": feed_url, "name": name})


def webhook_page_url(settings: Settings, organiser_slug: str, endpoint_id: int) -> str:
    """The organiser page of one webhook, for the admins' mails."""
    return f"{settings.registration_base_url}/manage/{organiser_slug}/webhooks/{endpoint_id}"
