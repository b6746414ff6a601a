"""Which partner websites may embed an organiser's seminars: CORS on the public API, frame-ancestors on /embed.

Each organiser lists its partner origins (``Organiser.allowed_origins``). A browser
request that carries a foreign ``Origin`` is answered only when the organiser of the
seminar (or series) it is about lists that origin; otherwise it is refused with
403 ``origin_not_allowed``, on the server, whatever the browser would do.
Requests without an ``Origin`` header (curl, servers, same-origin GETs) pass untouched.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from sqlalchemy import select

from shared.db import read_session
from shared.models import Organiser, Seminar, Series, is_row_id
from shared.problems import problem
from services.registration.web.context import current_runtime, public_answers, request_language

# The public API's endpoints a partner page's widget calls.
CORS_ENDPOINTS = frozenset({"public_api.Seminars", "public_api.SeminarDetail", "public_api.Registrations"})
PREFLIGHT_MAX_AGE = 600
# What an origin must look like to be stored (the organiser API checks it) and to go
# into a header: scheme and ASCII host with an optional port, as browsers send it in
# ``Origin`` (no path, no spaces, no ";").
ORIGIN_SHAPE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def install_origin_checks(app: Flask) -> None:
    """Refuse foreign origins on the public API before anything else runs, and add the CORS headers."""
    app.before_request(_check_origin)
    app.after_request(_cors_headers)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case, as browsers send it in ``Origin``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def seminar_origins(seminar_id: int) -> frozenset[str] | None:
    """The origins allowed to embed a seminar, or None when there is no such seminar."""
    if not is_row_id(seminar_id):
        return None
    query = select(Organiser.allowed_origins).join(Seminar, Seminar.organiser_id == Organiser.id)
    return _cached(("seminar", seminar_id), query.where(Seminar.id == seminar_id))


def series_origins(slug: str) -> frozenset[str] | None:
    """The origins allowed to embed a series, or None when there is no such series."""
    query = select(Organiser.allowed_origins).join(Series, Series.organiser_id == Organiser.id)
    return _cached(("series", slug), query.where(Series.slug == slug))


def organiser_origins(slug: str) -> frozenset[str] | None:
    """The origins an organiser allows, or None when there is no such organiser."""
    return _cached(("organiser", slug), select(Organiser.allowed_origins).where(Organiser.slug == slug))


def frame_ancestors(origins: frozenset[str] | None) -> str:
    """The Content-Security-Policy that lets only the service itself and these origins frame a page."""
    sources = " ".join(sorted(origin for origin in origins or () if ORIGIN_SHAPE.match(origin)))
    return f"frame-ancestors 'self' {sources}".rstrip()


def _cached(key: tuple, query) -> frozenset[str] | None:
    """The origins the query finds, kept with the public answers; an unknown seminar or series is asked again.

    Every widget request checks them, so they are kept like the answers it reads:
    dropped at once when an organiser changes its list (the content version), at the
    latest after ``PUBLIC_CACHE_SECONDS``, in a store bounded against made-up ids.
    """

    def read() -> frozenset[str] | None:
        with read_session(current_runtime().sessions) as session:
            found = session.execute(query).first()
        return None if found is None else frozenset(origin_of(origin) for origin in found[0] or ())

    return public_answers().get(("partner origins", *key), read)


def _own_origins() -> set[str]:
    """The service's own origin, as configured and as this request reached it."""
    settings = current_runtime().settings
    return {origin_of(settings.registration_base_url), origin_of(request.host_url)}


def _target_origins() -> frozenset[str] | None:
    """Origins allowed for what the request is about; None when it names nothing known."""
    event_id = (request.view_args or {}).get("event_id")
    if event_id is not None:
        return seminar_origins(event_id)
    if request.args.get("series"):
        return series_origins(request.args["series"])
    if request.args.get("organiser"):
        return organiser_origins(request.args["organiser"])
    return None


def _check_origin() -> Response | None:
    """Before a public API request: refuse a foreign origin the organiser has not allowed; answer preflights."""
    if request.endpoint not in CORS_ENDPOINTS:
        return None
    origin = request.headers.get("Origin")
    if origin is None or origin.lower() in _own_origins():
        return None  # the cheap, common case: curl, servers, the service's own pages
    allowed = _target_origins()
    if allowed is None:
        return None  # unknown seminar or series (the view says 404), or a list of everything
    preflight = request.method == "OPTIONS"
    if origin.lower() not in allowed:
        if not preflight:
            # The refusal itself is readable, so that the widget can say why it does not work;
            # it carries no seminar data. A refused preflight stays opaque: the browser stops there.
            g.cors_origin = origin
        return problem(403, "origin_not_allowed", language=request_language())
    g.cors_origin = origin
    if preflight:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept-Language"
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response
    return None


def _cors_headers(response: Response) -> Response:
    """After a public API request: name the allowed origin (never credentials) and vary caches by Origin."""
    if request.endpoint in CORS_ENDPOINTS:
        response.vary.add("Origin")
        origin = g.get("cors_origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
    return response
