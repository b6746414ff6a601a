"""Every answer of the registration service carries its security headers, set in one place."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.domain.registrations import register
from shared.db import read_session
from shared.links import participant_page_url
from shared.models import Registration
from tests.factories import add_seminar, person


@pytest.fixture
def paths(runtime, settings) -> dict[str, str]:
    """A public page of each kind, the participant's own pages among them."""
    seminar_id = add_seminar(runtime)
    register(runtime, seminar_id, person())
    with read_session(runtime.sessions) as session:
        registration = session.scalar(select(Registration))
        own = participant_page_url(settings, registration.id, registration.token_nonce)
    own = own.removeprefix(settings.registration_base_url)
    return {"index": "/", "seminar": f"/events/{seminar_id}", "registered": f"/events/{seminar_id}/registered",
            "own page": own, "cancel question": f"{own}/cancel", "calendar file": f"{own}/seminar.ics",
            "api": f"/api/v1/events/{seminar_id}", "list": "/api/v1/events", "widget": "/widget.js",
            "spec": "/openapi.json", "docs": "/docs", "missing": "/nothing-here", "embed": f"/embed/events/{seminar_id}"}


def directives(response) -> dict[str, str]:
    """The Content-Security-Policy's directives by name."""
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_every_answer_has_a_policy_nosniff_and_a_same_origin_referrer(client, paths):
    for name, path in paths.items():
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code in (200, 404), name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "same-origin", name
        policy = directives(response)
        assert policy["object-src"] == "object-src 'none'" and policy["form-action"] == "form-action 'self'", name
        assert policy["base-uri"] == "base-uri 'none'", name
        # Inline scripts only where the API docs need them.
        assert ("'unsafe-inline'" in policy["script-src"]) == (name == "docs"), name


def test_nobody_frames_a_page_but_the_embed_pages(client, paths):
    for name, path in paths.items():
        response = client.get(path)
        if name == "embed":
            assert directives(response)["frame-ancestors"] == "frame-ancestors 'self'"
            assert "X-Frame-Options" not in response.headers
        else:
            assert directives(response)["frame-ancestors"] == "frame-ancestors 'none'", name
            assert response.headers["X-Frame-Options"] == "DENY", name


def test_the_participants_own_pages_are_never_stored(client, paths):
    for name in ("own page", "cancel question", "calendar file"):
        assert "no-store" in client.get(paths[name]).headers["Cache-Control"], name
    assert "no-store" not in client.get(paths["seminar"]).headers.get("Cache-Control", "")
