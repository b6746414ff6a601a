"""The schema on SQLite and PostgreSQL: migrations match the models, times stay UTC, rules hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from shared.db import make_engine, make_session_factory, read_session, write_transaction
from shared.demo import load_demo
from shared.migrate import alembic_config
from shared.models import (
    Account,
    Base,
    Membership,
    Notification,
    NotificationKind,
    Organiser,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Role,
    Seminar,
)
from shared.times import utcnow
from tests.factories import make_registration, make_seminar


def old_schema_organiser(session) -> int:
    """An organiser row with only the columns every revision since 0006 has; returns its id.

    The ORM writes every column of the model, also those a later migration adds (0013's imprint_url).
    """
    values = dict(slug="stiftung", name="Stiftung", contact_email="team@stiftung.example",
                  privacy_policy_url="https://stiftung.example/datenschutz")
    return session.execute(insert(Organiser.__table__).values(**values)).inserted_primary_key[0]


def test_migrations_create_exactly_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_migrations_downgrade_and_upgrade_again(database_url):
    from alembic import command

    config = alembic_config(database_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_registrations_that_expired_before_0007_get_the_moment_they_lapsed(database_url):
    from alembic import command

    config = alembic_config(database_url)
    command.downgrade(config, "0006")
    engine = make_engine(database_url)
    made_at = datetime(2030, 2, 1, 8, tzinfo=timezone.utc)
    with write_transaction(make_session_factory(engine)) as session:
        seminar = make_seminar(session, organiser_id=old_schema_organiser(session))
        lapsed = make_registration(session, seminar, RegistrationStatus.EXPIRED, created_at=made_at, expires_at=None)
        cancelled = make_registration(session, seminar, RegistrationStatus.CANCELLED, created_at=made_at)
        ids = lapsed.id, cancelled.id
    command.upgrade(config, "head")
    with read_session(make_session_factory(engine)) as session:
        assert session.get(Registration, ids[0]).expires_at == made_at + timedelta(hours=24)
        assert session.get(Registration, ids[1]).expires_at is None
    engine.dispose()


def test_an_upgrade_that_rebuilds_tables_keeps_the_rows_pointing_to_them(database_url):
    # 0008 and 0009 rebuild accounts and seminars on SQLite (copy, drop, rename); with foreign
    # keys on, the drop would take every membership, question and registration with it.
    from alembic import command

    config = alembic_config(database_url)
    command.downgrade(config, "0007")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        now = "2030-02-01 08:00:00"
        connection.execute(text(
            "INSERT INTO accounts (id, email, name, password_hash, session_nonce, created_at, updated_at) "
            "VALUES (1, 'anna@stiftung.example', 'Anna', 'hash', 'nonce', :now, :now)"), {"now": now})
    with write_transaction(make_session_factory(engine)) as session:
        seminar = make_seminar(session, organiser_id=old_schema_organiser(session))
        session.add(Membership(account_id=1, organiser_id=seminar.organiser_id, role=Role.ADMIN))
        session.add(Question(seminar_id=seminar.id, key="role", kind=QuestionKind.SHORT_TEXT, position=0,
                             label_de="Rolle", label_en="Role"))
        make_registration(session, seminar)
    command.upgrade(config, "head")
    with read_session(make_session_factory(engine)) as session:
        counted = {model.__name__: session.scalar(select(func.count()).select_from(model))
                   for model in (Account, Membership, Seminar, Question, Registration)}
    engine.dispose()
    assert counted == {"Account": 1, "Membership": 1, "Seminar": 1, "Question": 1, "Registration": 1}



def test_organisers_from_before_0013_have_no_impressum_and_going_back_keeps_them(database_url):
    from alembic import command

    config = alembic_config(database_url)
    command.downgrade(config, "0012")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO organisers (id, slug, name, contact_email, privacy_policy_url, allowed_origins, "
            "retention_days, retention_days_cancelled, created_at, updated_at) VALUES (1, 'stiftung', 'Stiftung', "
            "'team@stiftung.example', 'https://stiftung.example/datenschutz', '[]', 30, 7, :now, :now)"),
            {"now": "2030-02-01 08:00:00"})
    command.upgrade(config, "head")
    with read_session(make_session_factory(engine)) as session:
        assert session.get(Organiser, 1).imprint_url is None
    with engine.begin() as connection:
        connection.execute(text("UPDATE organisers SET imprint_url = 'https://stiftung.example/impressum'"))
    command.downgrade(config, "0012")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT slug FROM organisers")).scalars().all() == ["stiftung"]
    command.upgrade(config, "head")
    engine.dispose()

def test_a_deleted_seminars_id_is_never_given_again(runtime):
    # SQLite gave the highest id plus one, so the newest seminar's id came back after a delete.
    with write_transaction(runtime.sessions) as session:
        first = make_seminar(session).id
        newest = make_seminar(session).id
    with write_transaction(runtime.sessions) as session:
        session.delete(session.get(Seminar, newest))
    with write_transaction(runtime.sessions) as session:
        again = make_seminar(session).id
    assert again not in (first, newest) and again > newest


def test_times_come_back_as_the_same_utc_instant(runtime):
    berlin_time = datetime(2026, 10, 28, 13, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, starts_at=berlin_time).id
    with read_session(runtime.sessions) as session:
        stored = session.get(Seminar, seminar_id).starts_at
    assert stored.tzinfo == timezone.utc
    assert stored == berlin_time
    assert (stored.hour, stored.minute) == (12, 30)  # CET is UTC+1 after the October change


def _registration(seminar_id: int, email: str) -> Registration:
    return Registration(
        seminar_id=seminar_id, status=RegistrationStatus.PENDING, name="Erika", email=email,
        email_key=email.lower(), consent_version="v1", consent_at=utcnow(),
    )


def test_one_registration_per_address_and_seminar(runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session).id
        session.add(_registration(seminar_id, "erika@example.org"))
    with pytest.raises(IntegrityError):
        with write_transaction(runtime.sessions) as session:
            session.add(_registration(seminar_id, "Erika@example.org"))


def test_a_mail_kind_is_recorded_once_per_registration_and_key(runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session).id
        registration = _registration(seminar_id, "erika@example.org")
        session.add(registration)
        session.flush()
        registration_id = registration.id
        session.add(Notification(registration_id=registration_id, kind=NotificationKind.REMINDER, dedupe_key="1440"))
        session.add(Notification(registration_id=registration_id, kind=NotificationKind.REMINDER, dedupe_key="60"))
    with pytest.raises(IntegrityError):
        with write_transaction(runtime.sessions) as session:
            session.add(Notification(registration_id=registration_id, kind=NotificationKind.REMINDER, dedupe_key="60"))


def test_a_seminar_cannot_end_before_it_starts(runtime):
    with pytest.raises(IntegrityError):
        with write_transaction(runtime.sessions) as session:
            start = utcnow() + timedelta(days=3)
            make_seminar(session, starts_at=start, ends_at=start - timedelta(hours=1))


def test_demo_data_loads_once_with_open_registration(runtime):
    assert load_demo(runtime.sessions) is True
    assert load_demo(runtime.sessions) is False
    with read_session(runtime.sessions) as session:
        seminars = session.scalars(select(Seminar).order_by(Seminar.starts_at)).all()
        titles = [s.title for s in seminars]
        assert titles[:2] == [
            "Junge Wilde: Räume schaffen für das Engagement junger Menschen",
            "Wieso, weshalb, warum? Engagementstrategien auf kommunaler Ebene",
        ]
        assert any(s.format.value == "hybrid" and "Berlin" in s.location for s in seminars)
        for seminar in seminars[:2]:
            local = seminar.starts_at.astimezone(ZoneInfo("Europe/Berlin"))
            assert (local.weekday(), local.hour, local.minute) == (2, 13, 30)
            assert seminar.series.title == "Kommunal Engagiert"
            assert seminar.starts_at > utcnow()
        assert session.scalar(select(func.count()).select_from(Registration)) == 0
