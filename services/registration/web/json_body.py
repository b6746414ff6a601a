"""How the registration service reads a JSON body: once per request, and bounded before anything uses it.

A body may nest at most ``MAX_DEPTH`` levels, hold whole numbers of at most
``MAX_DIGITS`` digits, and name each key of an object once; anything else is
answered 400 (``malformed_request``), never a 500 from deep inside a library.
Flask's ``request.get_json`` and the schemas' parser (webargs) read the same
parsed body.
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask_smorest
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# Nothing the API takes nests deeper than a few levels (a seminar's questions' options).
MAX_DEPTH = 32
# Ids, capacities and minutes; Python's own limit (4,300 digits) would answer 500.
MAX_DIGITS = 18
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')


def read_json(text: str | bytes) -> Any:
    """Parse a JSON body within the bounds above; ``json.JSONDecodeError`` (a ValueError) when it is not."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"not UTF-8: {exc.reason}", "", 0) from None
    if _depth(text) > MAX_DEPTH:
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, 0)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_int=_whole_number, parse_constant=_no_constant)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # from the hooks below
        raise json.JSONDecodeError(str(exc), text, 0) from None


def _depth(text: str) -> int:
    """How deeply arrays and objects nest, not counting brackets inside strings."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot nest deeper than it has brackets: the common case costs two counts
    depth = deepest = 0
    for character in _STRINGS.sub("", text):
        if character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice in one object")
    return dict(pairs)


def _whole_number(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number with more than {MAX_DIGITS} digits")
    return int(text)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading bodies with ``read_json`` (``request.get_json`` answers 400 for the rest)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a body within the bounds of this module."""
        return read_json(s)


class BodyParser(FlaskParser):
    """webargs' parser taking the body Flask parsed (once, with ``read_json``) instead of parsing it again."""

    def _raw_load_json(self, req) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True):
            return core.missing
        return req.get_json()  # a malformed body raises BadRequest: 400 problem+json


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with ``BodyParser``: the API blueprints of the service."""

    ARGUMENTS_PARSER = BodyParser()
