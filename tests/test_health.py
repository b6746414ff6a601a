"""Both web services report liveness and readiness (database and Redis)."""

import pytest

from services.calendar_feed import create_app as create_calendar_app
from services.registration import create_app as create_registration_app
from tests.servers import free_port

APPS = [create_registration_app, create_calendar_app]


@pytest.mark.parametrize("create_app", APPS, ids=["registration", "calendar_feed"])
def test_ready_when_database_and_redis_answer(create_app, settings):
    client = create_app(settings).test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize("create_app", APPS, ids=["registration", "calendar_feed"])
def test_not_ready_without_redis(create_app, settings):
    down = settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(down).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"] != "ok"


def test_not_ready_without_database(settings):
    unreachable = settings.with_overrides(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    client = create_calendar_app(unreachable).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] != "ok"
