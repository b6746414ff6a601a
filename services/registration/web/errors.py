"""Error answers of the registration service: problem+json for API clients, a short page for people in a browser.

Every HTTP error and every ``Refusal`` of the domain ends here, so a route never
builds an error answer itself. Field errors come as codes and leave as sentences
in the reader's language (``shared.problems``).
"""

from __future__ import annotations

import http

from flask import make_response, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from shared.problems import STATUS_CODES, Refusal, negotiated_language, problem, problem_text
from services.registration.web.context import request_language

PROBLEM_JSON = "application/problem+json"


class ProblemDetails(Schema):
    """An error answer (RFC 9457), in German or English."""

    type = fields.String(metadata={"description": "urn:seminare:problem:<code>"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "Stable problem code, e.g. seminar_full"})
    errors = fields.Dict(metadata={"description": "Messages per field (validation errors)"})


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as problem+json (or an HTML page)."""

    ERROR_SCHEMA = ProblemDetails

    def _register_responses(self):
        # The spec must say what the answers are: errors come as application/problem+json,
        # not as flask-smorest's default application/json (clients and schemathesis check it).
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"], content_type = self.ERROR_SCHEMA, PROBLEM_JSON
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        return error_response(error)


def error_response(error: HTTPException, errors=None):
    """problem+json for API clients, a short HTML page for people in a browser."""
    code = getattr(error, "problem_code", None) or STATUS_CODES.get(error.code or 500, "internal_error")
    if request.path.startswith("/api/") or not request.accept_mimetypes.accept_html:
        data = getattr(error, "data", None) or {}
        if errors is None and code == "validation_failed":
            errors = _merge_locations(data.get("messages"))
        response = problem(error.code or 500, code, language=request_language(), errors=errors)
    else:
        language = negotiated_language(request.args.get("lang"))
        title, detail = problem_text(code, language)
        response = make_response(render_template("error.html", title=title, detail=detail), error.code)
    for challenge in getattr(error, "www_authenticate", None) or []:  # 401 names the scheme
        response.headers.add("WWW-Authenticate", str(challenge))
    if getattr(error, "retry_after", None) is not None:  # 429 and 503 say when to come back
        response.headers["Retry-After"] = str(error.retry_after)
    if getattr(error, "valid_methods", None):  # 405 names the methods that would do
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def refusal_response(refusal: Refusal):
    """A refusal of the domain answered like the HTTP error of its status, naming its problem."""
    error = default_exceptions.get(refusal.status, InternalServerError)()
    error.problem_code = refusal.code
    return error_response(error, errors=refusal.problem_errors)


def _merge_locations(messages):
    # webargs groups field errors by location ("json", "query"); clients want the fields.
    if not isinstance(messages, dict):
        return messages
    merged = {}
    for found in messages.values():
        merged.update(found if isinstance(found, dict) else {"_schema": found})
    return merged
