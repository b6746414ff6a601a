"""Feed URLs under /calendar: cached bytes with strong ETags, Last-Modified, 304s and gzip."""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Callable

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.http import parse_accept_header, parse_date, parse_etags

from shared.db import read_session
from shared.models import is_row_id
from shared.times import utcnow
from shared.tokens import PERSONAL_FEED, read_token
from services.calendar_feed.cache import FeedCache, FeedEntry
from services.calendar_feed.feeds import (
    all_seminars_feed,
    organiser_feed,
    personal_feed,
    seminar_feed,
    series_feed,
)

feeds = Blueprint("feeds", __name__, url_prefix="/calendar")

CACHE_SECONDS = 3600  # matches REFRESH-INTERVAL and X-PUBLISHED-TTL in the feed


@feeds.get("/events.ics")
def all_seminars():
    """All published seminars."""
    return _public("all", all_seminars_feed, "seminare.ics")


@feeds.get("/series/<slug>.ics")
def series(slug: str):
    """The seminars of one series."""
    return _public(f"series:{slug}", partial(series_feed, slug=slug), f"{slug}.ics")


@feeds.get("/organisers/<slug>.ics")
def organiser(slug: str):
    """Everything one organiser publishes."""
    return _public(f"organiser:{slug}", partial(organiser_feed, slug=slug), f"{slug}.ics")


@feeds.get("/events/<int:event_id>.ics")
def seminar(event_id: int):
    """One seminar, so a calendar follows its moves and a cancellation."""
    if not is_row_id(event_id):
        abort(404)
    return _public(f"seminar:{event_id}", partial(seminar_feed, seminar_id=event_id), f"seminar-{event_id}.ics")


@feeds.get("/personal/<token>.ics")
def personal(token: str):
    """The seminars one participant is confirmed for, with join links; a renewed link gives 404."""
    runtime = current_app.extensions["runtime"]
    found = read_token(runtime.settings.secret_key, PERSONAL_FEED, token)
    if found is None:
        abort(404)
    with read_session(runtime.sessions) as session:
        feed = personal_feed(session, runtime.settings, *found, now=utcnow())
    if feed is None:
        abort(404)
    # Built per request: it is small, read by one calendar app an hour, and must
    # show a registration change at once.
    return calendar_response(FeedEntry.of(feed.body, feed.last_change), "meine-seminare.ics", private=True)


def _public(name: str, build: Callable, filename: str) -> Response:
    # ``build(session, settings, now=...)`` makes the feed's bytes, or None if it does not exist.
    extensions = current_app.extensions  # one proxy lookup instead of two
    runtime = extensions["runtime"]
    cache: FeedCache = extensions["feed_cache"]
    now = utcnow()

    def build_now() -> bytes | None:
        with read_session(runtime.sessions) as session:
            return build(session, runtime.settings, now=now)

    entry = cache.get(name, build_now, now)
    if entry is None:
        abort(404)
    return calendar_response(entry, filename)


def calendar_response(entry: FeedEntry, filename: str, private: bool = False) -> Response:
    """Answer with the feed (gzipped when the client accepts it), or 304 when it has it already.

    Written out rather than with ``make_conditional``: this runs for every calendar
    app every hour, and the generic version parses more than a feed needs.
    """
    environ = request.environ
    zipped = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    # Each encoding is its own representation, so it gets its own strong ETag.
    etag = f"{entry.etag}-gzip" if zipped else entry.etag
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": f"{'private' if private else 'public'}, max-age={CACHE_SECONDS}",
        "Vary": "Accept-Encoding",
    }
    if _client_has(environ, etag, entry):
        # A 304 repeats what guides the client's cache; Last-Modified adds nothing beside the ETag.
        return Response(status=304, headers=headers)
    headers["Last-Modified"] = entry.http_last_modified
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return Response(entry.gzipped if zipped else entry.body, headers=headers,
                    content_type="text/calendar; charset=utf-8")


@lru_cache(maxsize=256)
def _accepts_gzip(accept_encoding: str) -> bool:
    # Calendar apps send a handful of distinct headers; parsing each once is enough.
    return "gzip" in accept_encoding and parse_accept_header(accept_encoding)["gzip"] > 0


def _client_has(environ: dict, etag: str, entry: FeedEntry) -> bool:
    # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        # Calendar apps send back exactly the ETag they got; anything else is parsed in full.
        return if_none_match == f'"{etag}"' or parse_etags(if_none_match).contains_weak(etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and entry.last_modified.replace(microsecond=0) <= since
