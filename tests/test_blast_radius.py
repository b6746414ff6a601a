"""One organiser's input, however odd, never takes down a page of the installation or of another organiser.

Organiser A writes seminars, series and questions with generated values (dates
at and beyond the edges, huge and odd strings, emoji, right-to-left marks, NUL,
lone surrogates, options of every shape) through the organiser API; after each
step every public page and feed, and organiser B's pages, answer below 500.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from shared.db import write_transaction
from shared.models import Role
from tests.factories import add_api_token, add_member, make_organiser, make_seminar, make_series
from tests.organiser_pages import log_in

MANAGE = "/api/v1/manage"

# Text an organiser may really save: emoji, right-to-left marks, markup, formulas, long lines, line breaks.
saved_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=60),
    st.sampled_from(["😀🎉 Seminar", "\u202egnirts", "<script>alert(1)</script>", "=SUM(A1:A9)", "ä" * 200,
                     "Zeile 1\r\nZeile 2", "  Leerzeichen  ", "null", "-1", "Ωmega ∑ ≠ ∞", "\t=cmd"]),
).filter(lambda text: text.strip())
# Text no organiser can save: NUL, lone surrogates, too long, empty.
refused_text = st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "x" * 25000])
odd_text = st.one_of(saved_text, saved_text, refused_text)
# Moments inside the accepted dates, at their edges, and beyond them.
inside = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                      timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14)),
                                                 timezone(timedelta(hours=-12))]))
beyond = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)),
    st.sampled_from([datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
                     datetime(2100, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 10, tzinfo=timezone.utc)]),
)
numbers = st.one_of(st.integers(min_value=1, max_value=1000), st.integers(min_value=1, max_value=1000),
                    st.integers(min_value=1, max_value=1000), st.sampled_from([0, 10**30, -1, None, "7", 1.5]))
option = st.fixed_dictionaries({"value": saved_text.map(lambda text: text[:100]), "label_de": saved_text,
                                "label_en": saved_text})
odd_option = st.one_of(option, st.fixed_dictionaries({"label_de": odd_text}), odd_text, numbers,
                       st.dictionaries(odd_text, odd_text, max_size=2))
question = st.fixed_dictionaries({
    "key": st.sampled_from(["role", "topics", "recording", "notes"]),
    "kind": st.sampled_from(["short_text", "long_text", "single_choice", "multiple_choice", "checkbox"]),
    "label_de": saved_text, "label_en": saved_text, "required": st.booleans(),
    "options": st.lists(option, min_size=1, max_size=4, unique_by=lambda option: option["value"]),
})
odd_question = st.one_of(question, st.fixed_dictionaries({
    "key": odd_text, "kind": st.sampled_from(["single_choice", "other"]), "label_de": odd_text,
    "label_en": odd_text, "required": st.one_of(st.booleans(), odd_text), "options": st.lists(odd_option, max_size=3),
}))


@st.composite
def seminar_fields(draw) -> dict:
    """A seminar an organiser might send: mostly savable with extreme values, sometimes not savable."""
    start = draw(st.one_of(inside, inside, inside, beyond))
    length = draw(st.one_of(st.integers(1, 600), st.sampled_from([0, -30, 7 * 24 * 60, 7 * 24 * 60 + 1, 10**6])))
    try:
        end = start + timedelta(minutes=length)
    except OverflowError:
        end = start
    fields = {"title": draw(odd_text), "starts_at": start.isoformat(), "ends_at": end.isoformat(),
              "publish": draw(st.booleans())}
    fields.update(draw(st.fixed_dictionaries({}, optional={
        "description": odd_text, "location": odd_text, "capacity": numbers,
        "timezone": st.sampled_from(["Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12", "Mars/Olympus", "UTC"]),
        "format": st.sampled_from(["online", "in_person", "hybrid", "zeppelin"]),
        "join_url": st.sampled_from(["https://meet.example/raum", "javascript:alert(1)", "https://x.example/" + "a" * 990]),
        "registration_opens_at": st.one_of(inside, beyond).map(lambda moment: moment.isoformat()),
        "questions": st.lists(st.one_of(question, question, odd_question), max_size=3, unique_by=lambda q: str(q["key"])),
        "reminder_offsets": st.lists(numbers, max_size=2, unique=True), "retention_days": numbers,
    })))
    return fields


moves = st.builds(lambda start, minutes: {"starts_at": start.isoformat(),
                                          "ends_at": (start + timedelta(minutes=minutes)).isoformat()},
                  st.one_of(inside, inside, beyond), st.integers(1, 24 * 60))
steps = st.lists(st.one_of(
    st.tuples(st.just("create"), seminar_fields()),
    st.tuples(st.just("create"), seminar_fields()),
    st.tuples(st.just("patch"), seminar_fields()),
    st.tuples(st.just("move"), moves),
    st.tuples(st.just("series"), st.fixed_dictionaries({"slug": st.one_of(st.from_regex(r"\A[a-z0-9]{1,12}\Z"), odd_text),
                                                        "title": odd_text})),
), min_size=1, max_size=4)


@pytest.fixture
def tenants(runtime, client):
    """Organiser A with an admin token and a published seminar; organiser B with its own, and B logged in."""
    with write_transaction(runtime.sessions) as session:
        a, b = make_organiser(session, slug="verband"), make_organiser(session, slug="landkreis")
        a_series = make_series(session, a, slug="a-reihe")
        b_series = make_series(session, b, slug="b-reihe")
        a_seminar = make_seminar(session, a, series=a_series, title="A")
        b_seminar = make_seminar(session, b, series=b_series, title="B")
        ids = {"a": a.id, "b": b.id, "a_seminar": a_seminar.id, "b_seminar": b_seminar.id}
    add_member(runtime, ids["b"], Role.ADMIN, "admin@landkreis.example")
    log_in(client, "admin@landkreis.example", "ein langes Passwort")
    token = {"Authorization": f"Bearer {add_api_token(runtime, ids['a'], Role.ADMIN)}"}
    return {**ids, "token": token, "seminars": [ids["a_seminar"]]}


def pages_everybody_sees(tenants) -> list[str]:
    """The registration service's pages of the installation, of A's seminars and of B."""
    pages = ["/", "/api/v1/events", "/api/v1/events?organiser=landkreis", "/api/v1/events?series=b-reihe",
             "/embed/series/b-reihe", "/embed/series/a-reihe", f"/events/{tenants['b_seminar']}",
             f"/api/v1/events/{tenants['b_seminar']}", "/manage/landkreis/", "/manage/landkreis/series",
             f"/manage/landkreis/seminars/{tenants['b_seminar']}", f"/manage/landkreis/seminars/{tenants['b_seminar']}/edit",
             f"/manage/landkreis/seminars/{tenants['b_seminar']}/export.csv"]
    for seminar_id in tenants["seminars"]:
        pages += [f"/events/{seminar_id}", f"/api/v1/events/{seminar_id}", f"/embed/events/{seminar_id}"]
    return pages


FEEDS = ["/calendar/events.ics", "/calendar/organisers/landkreis.ics", "/calendar/organisers/verband.ics",
         "/calendar/series/b-reihe.ics", "/calendar/series/a-reihe.ics"]


def send(client, method: str, path: str, body: dict, token: dict) -> int:
    """Send the body as JSON exactly (lone surrogates as \\u escapes, as any client may)."""
    response = client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                           headers=token)
    assert response.status_code < 500, (path, body, response.get_data(as_text=True)[:500])
    import sys; print("STATUS", method, path.split("/")[-1], response.status_code, file=sys.stderr)
    return response


@hypothesis_settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_organiser_a_can_break_nothing_of_the_installation_or_of_organiser_b(client, feeds, tenants, steps):
    for action, fields in steps:
        latest = tenants["seminars"][-1]
        if action == "create":
            created = send(client, "POST", f"{MANAGE}/events", fields, tenants["token"])
            if created.status_code == 201:
                tenants["seminars"].append(created.json["id"])
        elif action == "patch":
            send(client, "PATCH", f"{MANAGE}/events/{latest}", {k: v for k, v in fields.items() if k != "publish"},
                 tenants["token"])
        elif action == "move":
            send(client, "POST", f"{MANAGE}/events/{latest}/move", fields, tenants["token"])
        else:
            send(client, "POST", f"{MANAGE}/series", fields, tenants["token"])
        for path in pages_everybody_sees(tenants):
            assert client.get(path).status_code < 500, (path, steps)
        for path in FEEDS:
            assert feeds.get(path).status_code < 500, (path, steps)
