"""Feed URLs under /calendar, answered with strong ETags and 304s."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request

from shared.db import read_session
from services.calendar_feed.feeds import all_seminars_feed

feeds = Blueprint("feeds", __name__, url_prefix="/calendar")

CACHE_SECONDS = 3600  # matches REFRESH-INTERVAL and X-PUBLISHED-TTL in the feed


@feeds.get("/events.ics")
def all_seminars():
    """All published seminars."""
    runtime = current_app.extensions["runtime"]
    with read_session(runtime.sessions) as session:
        body = all_seminars_feed(session, runtime.settings)
    return calendar_response(body, "seminare.ics")


def calendar_response(body: bytes, filename: str) -> Response:
    """Answer with the feed bytes, or 304 when the client already has them."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.set_etag(etag)
    return response.make_conditional(request)
