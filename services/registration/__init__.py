"""Registration service: public API, forms and participant pages (``create_app``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import Settings
from shared.content_version import ContentVersionWatcher
from shared.health import health
from shared.logs import configure_logging, install_request_logging
from shared.metrics import install_metrics
from shared.problems import Refusal
from shared.request_guard import install_request_guard
from shared.runtime import make_runtime
from services.registration.manage.auth import configure_sessions
from services.registration.web.context import template_helpers
from services.registration.web.errors import ProblemApi, refusal_response
from services.registration.web.footer import footer_helpers
from services.registration.web.json_body import BoundedJSONProvider
from services.registration.web.limits import install_limits
from services.registration.web.public_cache import PublicAnswers
from services.registration.web.security_headers import install_security_headers

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the registration app; tests pass their own settings."""
    settings = settings or Settings.from_env()
    # The templates every page extends (base, error) are the web plumbing's; public and
    # manage bring their own (their blueprints' template folders).
    app = Flask(__name__, template_folder="web/templates")
    app.json = BoundedJSONProvider(app)
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
    versions = ContentVersionWatcher(settings.redis_url)
    runtime.closers.append(versions.close)
    app.extensions["public_answers"] = PublicAnswers(versions, settings.public_cache_seconds)
    configure_logging()
    install_request_logging(app)
    install_metrics(app, "registration")
    if settings.trusted_proxies:
        # Behind a reverse proxy the client is the proxy's X-Forwarded-For, not the proxy:
        # limits count per participant, links and origins use the public scheme and host.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from services.registration.manage.api import manage_api
    from services.registration.manage.pages import manage_pages
    from services.registration.public.api import api as public_api
    from services.registration.public.embed import embed
    from services.registration.public.pages import pages
    from services.registration.public.statements import statements
    from services.registration.web.origins import install_origin_checks

    configure_sessions(app, settings)
    rest = ProblemApi(app)
    rest.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    rest.register_blueprint(public_api)
    rest.register_blueprint(manage_api)
    app.register_blueprint(pages)
    app.register_blueprint(manage_pages)
    app.register_blueprint(health)
    app.register_blueprint(embed)
    app.register_blueprint(statements)
    app.register_error_handler(Refusal, refusal_response)
    app.context_processor(template_helpers)
    app.context_processor(footer_helpers)
    # Before the limits: a refused request costs no Redis round trip and no attempt.
    install_request_guard(app)
    install_origin_checks(app)
    install_security_headers(app)
    install_limits(app, runtime.redis, settings)
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    return app


def _docs_asset(filename: str):
    """Static files of the interactive API docs (Swagger UI, shipped as a Python package)."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, filename, max_age=86400)
