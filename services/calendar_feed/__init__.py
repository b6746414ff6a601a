"""Calendar feed service: subscribable iCal feeds of the published seminars (``create_app``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from shared.config import Settings
from shared.content_version import ContentVersionWatcher
from shared.health import health
from shared.logs import configure_logging, install_request_logging
from shared.metrics import install_metrics
from shared.problems import STATUS_CODES, problem
from shared.request_guard import install_request_guard
from shared.runtime import make_runtime
from services.calendar_feed.cache import FeedCache


def create_app(settings: Settings | None = None) -> Flask:
    """Build the calendar feed app; tests pass their own settings."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    runtime = make_runtime(settings)
    app.extensions["runtime"] = runtime
    versions = ContentVersionWatcher(settings.redis_url)
    app.extensions["feed_cache"] = FeedCache(runtime.redis, versions, settings.feed_cache_seconds)
    runtime.closers.append(versions.close)
    configure_logging()
    install_request_logging(app)
    install_metrics(app, "calendar_feed")

    from services.calendar_feed.routes import feeds

    install_request_guard(app)
    app.register_blueprint(feeds)
    app.register_blueprint(health)

    @app.errorhandler(HTTPException)
    def _problem(error: HTTPException):
        response = problem(error.code or 500, STATUS_CODES.get(error.code or 500, "internal_error"))
        if getattr(error, "valid_methods", None):  # 405 names the methods that would do
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    return app
