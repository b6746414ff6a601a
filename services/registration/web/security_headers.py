"""The security headers of every answer of the registration service, set in one place after each request.

Every page gets a Content-Security-Policy (own scripts only, no plugins, forms
post only to the service), ``nosniff`` and ``Referrer-Policy: same-origin``, and
may be framed by nobody, except the embed pages, which the partner websites of
their seminar's organiser may frame. Pages with personal data (the participant's
own pages, everything under /manage) are never stored by a browser or proxy.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from services.registration.web.origins import frame_ancestors

_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'none'; form-action 'self'")
# The interactive API docs (Swagger UI) start with an inline script.
_DOCS_POLICY = _POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
# Pages about one person: their own page (with its links), the organiser pages.
PERSONAL_PREFIXES = ("/r/", "/manage/")


def install_security_headers(app: Flask) -> None:
    """Set the headers above on every answer, error pages included."""
    app.after_request(_security_headers)


def _security_headers(response: Response) -> Response:
    path = request.path
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    policy = _DOCS_POLICY if path == "/docs" or path.startswith("/docs/") else _POLICY
    if path.startswith("/embed/"):
        # The view named the partners that may frame it (``g.frame_origins``).
        headers["Content-Security-Policy"] = f"{policy}; {frame_ancestors(g.get('frame_origins'))}"
    else:
        headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"  # for browsers that know no frame-ancestors
    if path == "/manage" or path.startswith(PERSONAL_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return response
