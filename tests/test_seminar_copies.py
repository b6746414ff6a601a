"""Duplicating a seminar and repeating it on weekly or monthly dates, across daylight saving time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shared.db import read_session, write_transaction
from shared.problems import field_message
from shared.models import AuditEvent, Registration, Role, Seminar
from services.registration.domain.seminar_copies import Repetition, repeated_dates, week_of_month
from tests.factories import berlin, make_organiser, make_seminar
from tests.test_manage_api import MANAGE, make_tenant, new_seminar

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ours(runtime):
    return make_tenant(runtime, "Stiftung Engagement")


@pytest.fixture
def theirs(runtime):
    return make_tenant(runtime, "Musikverband")


def local_starts(answer: list[dict]) -> list[str]:
    return [datetime.fromisoformat(item["starts_at"]).astimezone(BERLIN).strftime("%a %Y-%m-%d %H:%M")
            for item in answer]


def test_duplicating_copies_every_rule_and_question_as_a_draft_without_registrations(client, runtime, ours):
    created = client.post(f"{MANAGE}/events", json=new_seminar(publish=True, capacity=12, double_opt_in=False,
                                                                 reminder_offsets=[2880, 60]),
                          headers=ours.auth(Role.EDITOR)).json
    client.post(f"/api/v1/events/{created['id']}/registrations", json={
        "name": "Erika", "email": "erika@example.org", "consent": True, "answers": {"role": "ehrenamt"}})

    copy = client.post(f"{MANAGE}/events/{created['id']}/duplicate", headers=ours.auth(Role.EDITOR))

    assert copy.status_code == 201
    body = copy.json
    assert body["id"] != created["id"] and body["status"] == "draft" and body["sequence"] == 0
    for name in ("title", "description", "starts_at", "ends_at", "capacity", "join_url", "timezone",
                 "double_opt_in", "waitlist_enabled", "reminder_offsets", "questions", "format"):
        assert body[name] == created[name], name
    assert body["counts"] == {"confirmed": 0, "pending": 0, "waitlisted": 0, "cancelled": 0}
    with read_session(runtime.sessions) as session:
        counted = session.scalars(select(Registration.seminar_id)
                                  .where(Registration.seminar_id.in_([created["id"], body["id"]]))).all()
        assert counted == [created["id"]]
        assert session.get(Seminar, body["id"]).seats_taken == 0
        logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "seminar.duplicated")).one()
    assert (logged.subject_id, logged.details["copied_from"]) == (body["id"], created["id"])


def test_a_viewer_may_not_copy_and_nobody_copies_another_organisers_seminar(client, ours, theirs):
    assert client.post(f"{MANAGE}/events/{ours.seminar_id}/duplicate", headers=ours.auth(Role.VIEWER)).status_code == 403
    assert client.post(f"{MANAGE}/events/{theirs.seminar_id}/duplicate", headers=ours.auth()).status_code == 404
    repeat = {"every": "week", "count": 2}
    assert client.post(f"{MANAGE}/events/{theirs.seminar_id}/repeat", json=repeat, headers=ours.auth()).status_code == 404
    assert client.post(f"{MANAGE}/events/{theirs.seminar_id}/repeat/preview", json=repeat,
                       headers=ours.auth()).status_code == 404


def test_weekly_dates_keep_the_local_time_across_the_change_to_summer_time(client, ours):
    # Wednesday 18 March 2026, 13:30 CET; summer time starts on Sunday 29 March.
    seminar = client.post(f"{MANAGE}/events", headers=ours.auth(), json=new_seminar(
        starts_at=berlin(2026, 3, 18, 13, 30).isoformat(), ends_at=berlin(2026, 3, 18, 15, 0).isoformat())).json
    preview = client.post(f"{MANAGE}/events/{seminar['id']}/repeat/preview", headers=ours.auth(),
                          json={"every": "week", "count": 3})
    assert preview.status_code == 200
    dates = preview.json["dates"]
    assert local_starts(dates) == ["Wed 2026-03-25 13:30", "Wed 2026-04-01 13:30", "Wed 2026-04-08 13:30"]
    # In UTC the start moves by an hour, the length stays 90 minutes.
    assert [item["starts_at"][11:16] for item in dates] == ["12:30", "11:30", "11:30"]
    assert all((datetime.fromisoformat(d["ends_at"]) - datetime.fromisoformat(d["starts_at"])).seconds == 5400
               for d in dates)
    fortnightly = client.post(f"{MANAGE}/events/{seminar['id']}/repeat/preview", headers=ours.auth(),
                              json={"every": "week", "interval": 2, "count": 2}).json["dates"]
    assert local_starts(fortnightly) == ["Wed 2026-04-01 13:30", "Wed 2026-04-15 13:30"]


def test_monthly_on_the_second_wednesday_creates_drafts_for_the_series(client, runtime, ours):
    # "Kommunal Engagiert": the 2nd Wednesday of the month, 13:30-15:00.
    seminar = client.post(f"{MANAGE}/events", headers=ours.auth(), json=new_seminar(
        series_id=ours.series_id, starts_at=berlin(2026, 9, 9, 13, 30).isoformat(),
        ends_at=berlin(2026, 9, 9, 15, 0).isoformat())).json
    created = client.post(f"{MANAGE}/events/{seminar['id']}/repeat", headers=ours.auth(Role.EDITOR),
                          json={"every": "month", "count": 6})
    assert created.status_code == 201
    assert local_starts(created.json) == ["Wed 2026-10-14 13:30", "Wed 2026-11-11 13:30", "Wed 2026-12-09 13:30",
                                          "Wed 2027-01-13 13:30", "Wed 2027-02-10 13:30", "Wed 2027-03-10 13:30"]
    assert {item["status"] for item in created.json} == {"draft"}
    assert {item["series_id"] for item in created.json} == {ours.series_id}
    assert all(item["questions"] == seminar["questions"] for item in created.json)
    with read_session(runtime.sessions) as session:
        logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "seminar.repeated")).one()
    assert logged.details["count"] == 6 and logged.details["copies"] == [item["id"] for item in created.json]


def test_the_last_weekday_of_the_month_and_months_without_a_fifth_one(runtime):
    with write_transaction(runtime.sessions) as session:
        fifth = make_seminar(session, make_organiser(session), starts_at=berlin(2026, 12, 30, 18, 0),
                             ends_at=berlin(2026, 12, 30, 20, 0))
        assert week_of_month(datetime(2026, 12, 30).date()) == 5
        skipping = repeated_dates(fifth, Repetition("month", 2, week_of_month=5))
        last = repeated_dates(fifth, Repetition("month", 2, week_of_month=-1))
    # December 2026 has five Wednesdays; the next months with a fifth are April and July 2027.
    assert [d.astimezone(BERLIN).date().isoformat() for d, _ in skipping] == ["2027-03-31", "2027-06-30"]
    assert [d.astimezone(BERLIN).date().isoformat() for d, _ in last] == ["2027-01-27", "2027-02-24"]


@pytest.mark.parametrize("body, field, code", [
    ({"every": "day", "count": 3}, "every", "invalid_choice"),
    ({"every": "week", "count": 0}, "count", "out_of_range"),
    ({"every": "week", "count": 27}, "count", "out_of_range"),
    ({"every": "week", "count": 3, "interval": 5}, "interval", "out_of_range"),
    ({"every": "month", "count": 3, "week_of_month": 6}, "week_of_month", "invalid_choice"),
    ({"count": 3}, "every", "required"),
])
def test_a_bad_rhythm_is_refused_in_both_languages(client, ours, body, field, code):
    for language in ("de", "en"):
        answer = client.post(f"{MANAGE}/events/{ours.seminar_id}/repeat/preview", json=body,
                             headers={**ours.auth(), "Accept-Language": language})
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
        assert answer.json["errors"] == {field: [field_message(code, language)]}
    assert field_message(code, "de") != field_message(code, "en")


def test_dates_beyond_the_accepted_range_are_refused(client, ours):
    seminar = client.post(f"{MANAGE}/events", headers=ours.auth(), json=new_seminar(
        starts_at=berlin(2099, 11, 4, 13, 30).isoformat(), ends_at=berlin(2099, 11, 4, 15, 0).isoformat()))
    assert seminar.status_code == 201
    answer = client.post(f"{MANAGE}/events/{seminar.json['id']}/repeat", headers=ours.auth(),
                         json={"every": "month", "count": 26})
    assert answer.status_code == 422 and answer.json["code"] == "date_out_of_range"
