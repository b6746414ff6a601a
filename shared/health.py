"""``/healthz`` (the process runs) and ``/readyz`` (database and Redis answer) for both web services."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from shared.runtime import check_database, check_redis

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Liveness: the process can answer HTTP."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz():
    """Readiness: the process can reach its database and Redis."""
    runtime = current_app.extensions["runtime"]
    checks = {"database": check_database(runtime), "redis": check_redis(runtime)}
    ready = all(reason is None for reason in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: reason or "ok" for name, reason in checks.items()},
    }
    return jsonify(body), 200 if ready else 503
