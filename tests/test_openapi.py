"""The public API keeps the promises of its OpenAPI document (checked by schemathesis)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.registration import create_app
from shared.db import write_transaction
from shared.models import Role
from tests.factories import add_api_token, make_seminar, make_series


EXAMPLES_PER_OPERATION = 40
EXAMPLES_PER_MANAGE_OPERATION = 15


def conforms(operations, examples: int, headers: dict | None = None) -> None:
    """Call each operation with generated valid and invalid input and check every answer against the spec."""
    for operation in operations:
        strategy = operation.as_strategy()

        @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True,
                             database=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case):
            # Some rules are stricter than JSON Schema can say, so "schema-valid data is
            # accepted" cannot hold: addresses must pass email-validator (no special-use
            # domains such as .test), answers must match the seminar's own questions, and
            # organisers' changes must fit the seminar's state (no capacity below the seats
            # taken). Every other check (no 5xx, status codes, bodies, headers) applies.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_public_api_conforms_to_its_spec(settings, runtime):
    """No 5xx and no answer that contradicts the spec, for generated valid and invalid input."""
    with write_transaction(runtime.sessions) as session:
        make_seminar(session, capacity=3)  # seminar ids from 1 exist, so some posts succeed
    app = create_app(settings.with_overrides(rate_limit_per_ip="", rate_limit_per_email=""))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    public = [op for op in operations if not op.path.startswith("/api/v1/manage")]
    assert {op.label for op in public} == {
        "GET /api/v1/events", "GET /api/v1/events/{event_id}", "POST /api/v1/events/{event_id}/registrations"}
    conforms(public, EXAMPLES_PER_OPERATION)


def test_organiser_api_conforms_to_its_spec(settings, runtime):
    """The same for every organiser operation, called with an admin token."""
    with write_transaction(runtime.sessions) as session:
        seminar = make_seminar(session, capacity=3)
        make_series(session, seminar.organiser)
        organiser_id = seminar.organiser_id
    token = add_api_token(runtime, organiser_id, Role.ADMIN, "schemathesis")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(settings))
    operations = [result.ok() for result in schema.get_all_operations()]
    manage = [op for op in operations if op.path.startswith("/api/v1/manage")]
    assert len(manage) >= 20
    conforms(manage, EXAMPLES_PER_MANAGE_OPERATION, headers={"Authorization": f"Bearer {token}"})


def test_spec_documents_the_public_contract(settings):
    spec = create_app(settings).test_client().get("/openapi.json").json
    assert spec["info"]["title"] == "Seminare: Anmeldung"
    post = spec["paths"]["/api/v1/events/{event_id}/registrations"]["post"]
    assert {"201", "404", "409", "422", "429"} <= set(post["responses"])
    assert set(spec["components"]["schemas"]["RegistrationInput"]["required"]) == {"name", "email", "consent"}
