"""Seats hold under a crowd: 200 simultaneous registrations through gunicorn for 20 seats."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.registration.domain.registrations import cancel_registration
from shared.db import read_session, write_transaction
from shared.models import Registration, RegistrationStatus, Seminar
from tests.conftest import service_env
from tests.factories import make_seminar
from tests.servers import GunicornServer, http

CROWD = 200
SEATS = 20


@pytest.mark.slow
def test_two_hundred_simultaneous_registrations_for_twenty_seats(settings, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, capacity=SEATS, double_opt_in=False).id
    server = GunicornServer("services.registration:create_app()",
                            service_env(settings, RATE_LIMIT_PER_IP="", RATE_LIMIT_PER_EMAIL=""),
                            workers=4, threads=16)
    server.start()
    start = threading.Barrier(50)

    def register(n: int):
        if n < 50:
            start.wait()  # the first fifty leave at exactly the same moment
        status, _, body = http("POST", f"{server.url}/api/v1/events/{seminar_id}/registrations",
                               {"name": f"Person {n}", "email": f"person{n}@example.org", "consent": True})
        return status, json.loads(body)

    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(register, range(CROWD)))
    finally:
        server.stop()

    assert sorted({status for status, _ in answers}) == [201]
    told = [body["status"] for _, body in answers]
    assert (told.count("confirmed"), told.count("waitlisted")) == (SEATS, CROWD - SEATS)

    with read_session(runtime.sessions) as session:
        assert session.get(Seminar, seminar_id).seats_taken == SEATS
        rows = session.scalars(select(Registration).where(Registration.seminar_id == seminar_id)).all()
    confirmed = [r for r in rows if r.status == RegistrationStatus.CONFIRMED]
    waiting = sorted((r for r in rows if r.status == RegistrationStatus.WAITLISTED),
                     key=lambda r: (r.created_at, r.id))
    assert len(confirmed) == SEATS and len(waiting) == CROWD - SEATS
    # Everybody who got a seat was earlier than everybody who was put on the waiting list.
    assert max(r.created_at for r in confirmed) <= waiting[0].created_at

    for registration in confirmed[:5]:
        cancel_registration(runtime, registration.id)
    with read_session(runtime.sessions) as session:
        promoted = {r.id for r in session.scalars(select(Registration).where(
            Registration.seminar_id == seminar_id, Registration.status == RegistrationStatus.CONFIRMED))}
        assert session.get(Seminar, seminar_id).seats_taken == SEATS
    assert promoted == {r.id for r in confirmed[5:]} | {r.id for r in waiting[:5]}
