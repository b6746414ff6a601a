"""Plain factory functions for test data: rows, registration bodies, organisers' logins and tokens."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import read_session, write_transaction
from shared.models import Account, Organiser, Role, Seminar, SeminarFormat, SeminarStatus, Series, WebhookEndpoint
from shared.times import from_local, utcnow
from services.registration.accounts.api_tokens import create_api_token
from services.registration.accounts.members import create_account, grant_role
from services.registration.accounts.principals import Principal

_numbers = itertools.count(1)


def make_organiser(session: Session, **overrides) -> Organiser:
    n = next(_numbers)
    values = dict(
        slug=f"organiser-{n}",
        name=f"Veranstalter {n}",
        contact_email=f"team{n}@organiser.example",
        privacy_policy_url="https://organiser.example/datenschutz",
        allowed_origins=[],
    )
    values.update(overrides)
    organiser = Organiser(**values)
    session.add(organiser)
    session.flush()
    return organiser


def make_series(session: Session, organiser: Organiser, **overrides) -> Series:
    n = next(_numbers)
    values = dict(organiser=organiser, slug=f"series-{n}", title=f"Reihe {n}")
    values.update(overrides)
    series = Series(**values)
    session.add(series)
    session.flush()
    return series


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given as Berlin wall-clock time."""
    return from_local(datetime(year, month, day, hour, minute), "Europe/Berlin")


def make_seminar(session: Session, organiser: Organiser | None = None, **overrides) -> Seminar:
    # An organiser_id alone names an organiser row the test wrote itself (see test_storage's older schemas).
    if organiser is None and "organiser_id" not in overrides:
        organiser = make_organiser(session)
    starts_at = overrides.pop("starts_at", None) or (utcnow() + timedelta(days=10)).replace(microsecond=0)
    values = dict(
        **({"organiser": organiser} if organiser is not None else {}),
        title="Kommunal Engagiert: Testseminar",
        description="Ein Seminar für Tests.",
        status=SeminarStatus.PUBLISHED,
        format=SeminarFormat.ONLINE,
        join_url="https://meet.example/raum-42",
        timezone="Europe/Berlin",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
        capacity=20,
    )
    values.update(overrides)
    seminar = Seminar(**values)
    session.add(seminar)
    session.flush()
    return seminar


def make_registration(session: Session, seminar: Seminar, status=None, **overrides):
    """A registration row as the registration path would leave it (confirmed by default)."""
    from shared.models import Registration, RegistrationStatus

    n = next(_numbers)
    status = status or RegistrationStatus.CONFIRMED
    now = utcnow()
    email = overrides.pop("email", f"person{n}@example.org")
    values = dict(
        seminar_id=seminar.id, status=status, name=f"Person {n}", email=email, email_key=email.lower(),
        language="de", consent_version="v1", consent_at=now,
        confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
        email_confirmed_at=now if status in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED) else None,
    )
    values.update(overrides)
    registration = Registration(**values)
    session.add(registration)
    if status in (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING):
        seminar.seats_taken += 1
    session.flush()
    return registration


def add_seminar(runtime, organiser_fields: dict | None = None, **overrides) -> int:
    """A published seminar (and its organiser) in a transaction of its own; returns the seminar's id."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, **(organiser_fields or {}))
        return make_seminar(session, organiser, **overrides).id


def person(n: int | None = None, *, name: str | None = None, email: str | None = None, **extra) -> dict:
    """A registration as the public API takes it: "Person n" at personn@example.org, or Erika Mustermann."""
    default_name, default_email = (f"Person {n}", f"person{n}@example.org") if n is not None else (
        "Erika Mustermann", "erika@example.org")
    return {"name": name or default_name, "email": email or default_email, "consent": True, "language": "de",
            "answers": {}, **extra}


PASSWORD = "ein langes Passwort"


def add_member(runtime, organiser_id: int, role: Role = Role.ADMIN, email: str = "admin@organiser.example",
               password: str = PASSWORD, name: str | None = None) -> int:
    """An account with ``password`` that has ``role`` at the organiser (one that exists already is reused)."""
    with read_session(runtime.sessions) as session:
        account_id = session.scalar(select(Account.id).where(Account.email == email.lower()))
    if account_id is None:
        account_id = create_account(runtime, email, name or email.split("@")[0], password)
    grant_role(runtime, account_id, organiser_id, role)
    return account_id


def add_api_token(runtime, organiser_id: int, role: Role = Role.ADMIN, name: str = "Test") -> str:
    """A bearer token for the organiser API with ``role``."""
    return create_api_token(runtime, organiser_id, name, role)[1]


def principal(organiser_id: int, role: Role = Role.ADMIN) -> Principal:
    """Someone acting for the organiser, as the domain functions take it."""
    return Principal(organiser_id=organiser_id, role=role, actor="test")


def add_webhook(runtime, organiser_id: int, url: str = "https://partner.example/hooks") -> tuple[int, int]:
    """A webhook endpoint of the organiser (its URL not checked: no DNS in tests) and one test delivery of it."""
    from services.registration.domain import webhooks

    with write_transaction(runtime.sessions) as session:
        endpoint = WebhookEndpoint(organiser_id=organiser_id, url=url, events=["registration.created"],
                                   secret=webhooks.new_secret())
        session.add(endpoint)
        session.flush()
        endpoint_id = endpoint.id
    return endpoint_id, webhooks.send_test_event(runtime, principal(organiser_id), endpoint_id)
