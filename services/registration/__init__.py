"""Registration service: public API, forms and participant pages (``create_app``)."""

from __future__ import annotations

import http

from flask import Flask, make_response, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from shared.config import Settings
from shared.feed_version import FeedVersionWatcher
from shared.health import health
from shared.logs import configure_logging, install_request_logging
from shared.metrics import install_metrics
from shared.problems import STATUS_CODES, negotiated_language, problem, problem_text
from shared.runtime import make_runtime
from services.registration.auth import configure_sessions
from services.registration.limits import install_limits
from services.registration.public_cache import PublicAnswers
from services.registration.schemas import ProblemDetails

MAX_BODY_BYTES = 64 * 1024
PROBLEM_JSON = "application/problem+json"


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


def error_response(error: HTTPException):
    """problem+json for API clients, a short HTML page for people in a browser."""
    from services.registration.api import request_language

    code = getattr(error, "problem_code", None) or STATUS_CODES.get(error.code or 500, "internal_error")
    if request.path.startswith("/api/") or not request.accept_mimetypes.accept_html:
        data = getattr(error, "data", None) or {}
        errors = _merge_locations(data.get("messages")) if code == "validation_failed" else None
        response = problem(error.code or 500, code, language=request_language(), errors=errors)
    else:
        language = negotiated_language(request.args.get("lang"))
        title, detail = problem_text(code, language)
        response = make_response(render_template("error.html", title=title, detail=detail), error.code)
    for challenge in getattr(error, "www_authenticate", None) or []:  # 401 names the scheme
        response.headers.add("WWW-Authenticate", str(challenge))
    if getattr(error, "retry_after", None) is not None:  # 429 and 503 say when to come back
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _merge_locations(messages):
    # webargs groups field errors by location ("json", "query"); clients want the fields.
    if not isinstance(messages, dict):
        return messages
    merged = {}
    for fields in messages.values():
        merged.update(fields if isinstance(fields, dict) else {"_schema": fields})
    return merged


def create_app(settings: Settings | None = None) -> Flask:
    """Build the registration app; tests pass their own settings."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Seminare: Anmeldung",
        API_VERSION="v1",
        # 3.0.3: the bundled Swagger UI (4.x) renders 3.0 documents.
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served from this app, not a CDN: the docs work offline and load nothing third-party.
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
    )
    runtime = make_runtime(settings)
    app.extensions["runtime"] = runtime
    versions = FeedVersionWatcher(settings.redis_url)
    runtime.closers.append(versions.close)
    app.extensions["public_answers"] = PublicAnswers(versions, settings.public_cache_seconds)
    configure_logging()
    install_request_logging(app)
    install_metrics(app, "registration")

    from services.registration.api import api as public_api
    from services.registration.embed import embed
    from services.registration.manage_api import manage_api
    from services.registration.manage_pages import manage_pages
    from services.registration.origins import install_origin_checks
    from services.registration.pages import pages

    configure_sessions(app, settings)
    rest = ProblemApi(app)
    rest.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    rest.register_blueprint(public_api)
    rest.register_blueprint(manage_api)
    app.register_blueprint(pages)
    app.register_blueprint(manage_pages)
    app.register_blueprint(health)
    app.register_blueprint(embed)
    # Before the limits: a refused origin costs no Redis round trip and no attempt.
    install_origin_checks(app)
    install_limits(app, runtime.redis, settings)
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    return app


def _docs_asset(filename: str):
    """Static files of the interactive API docs (Swagger UI, shipped as a Python package)."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, filename, max_age=86400)
