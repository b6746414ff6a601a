"""The public API keeps the promises of its OpenAPI document (checked by schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.registration import create_app
from shared.db import write_transaction
from tests.factories import make_seminar


EXAMPLES_PER_OPERATION = 40


def test_public_api_conforms_to_its_spec(settings, runtime):
    """No 5xx and no answer that contradicts the spec, for generated valid and invalid input."""
    with write_transaction(runtime.sessions) as session:
        make_seminar(session, capacity=3)  # seminar ids from 1 exist, so some posts succeed
    app = create_app(settings.with_overrides(rate_limit_per_ip="", rate_limit_per_email=""))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {
        "GET /api/v1/events", "GET /api/v1/events/{event_id}", "POST /api/v1/events/{event_id}/registrations"}
    for operation in operations:
        strategy = operation.as_strategy()

        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                             database=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case):
            # Two rules are stricter than JSON Schema can say, so "schema-valid data is
            # accepted" cannot hold: addresses must pass email-validator (no special-use
            # domains such as .test) and answers must match the seminar's own questions.
            # Every other check (no 5xx, status codes, bodies, headers) applies.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()


def test_spec_documents_the_public_contract(settings):
    spec = create_app(settings).test_client().get("/openapi.json").json
    assert spec["info"]["title"] == "Seminare: Anmeldung"
    post = spec["paths"]["/api/v1/events/{event_id}/registrations"]["post"]
    assert {"201", "404", "409", "422", "429"} <= set(post["responses"])
    assert set(spec["components"]["schemas"]["RegistrationInput"]["required"]) == {"name", "email", "consent"}
