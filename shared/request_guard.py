"""Refuse a request whose path, query or form holds a NUL character, before any view runs.

No database stores NUL in text (PostgreSQL refuses it outright), and no person
types one; such a request is a probe. JSON bodies are checked by the schemas,
which say which field is at fault.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

NUL = "\x00"


def install_request_guard(app: Flask) -> None:
    """Answer 400 to a request with NUL in its path, query string or form fields."""

    @app.before_request
    def _no_nul():
        if NUL in request.path or _in(request.args) or (_has_form() and _in(request.form)):
            raise BadRequest()

    def _has_form() -> bool:
        return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")

def _in(fields) -> bool:
    """Whether a NUL is in any key or value of a query or form."""
    return any(NUL in key or NUL in value for key, value in fields.items(multi=True))
