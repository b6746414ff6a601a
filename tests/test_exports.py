"""Organisers export their attendee lists as CSV and XLSX, on both databases."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime, timedelta

import openpyxl
import pytest

from services.registration.manage.exports import ROWS_PER_CHUNK, export_attendees
from services.registration.domain.refusals import SeminarNotFound, SeriesNotFound
from shared.db import write_transaction
from shared.models import Question, QuestionKind, RegistrationStatus, Seminar
from tests.factories import berlin, make_organiser, make_registration, make_seminar, make_series, principal

S = RegistrationStatus
FORMULA_NAME = '=HYPERLINK("http://x","y")'
CONSENT = "2026-11-de-en-1"
ROLE_OPTIONS = [{"value": "mayor", "label_de": "Ortsbürgermeisterin oder Ortsbürgermeister", "label_en": "Mayor"},
                {"value": "volunteer", "label_de": "Ehrenamtlich", "label_en": "Volunteer"}]
TOPIC_OPTIONS = [{"value": "youth", "label_de": "Jugend", "label_en": "Youth"},
                 {"value": "funding", "label_de": "Förderung", "label_en": "Funding"}]


def add_question(session, seminar, key, kind, position, label_de, label_en=None, options=()):
    """One of the seminar's own questions."""
    session.add(Question(seminar_id=seminar.id, key=key, kind=kind, position=position, label_de=label_de,
                         label_en=label_en or label_de, options=list(options)))


def add_registration(session, seminar, name, created_at, **overrides):
    """A registration made at ``created_at``, confirmed five minutes later, from a partner's page."""
    n = overrides.pop("n", name.lower().replace(" ", "."))
    values = dict(name=name, email=f"{n}@example.org", consent_version=CONSENT, consent_at=created_at,
                  created_at=created_at, confirmed_at=created_at + timedelta(minutes=5),
                  email_confirmed_at=created_at + timedelta(minutes=5), source_page="https://partner.example/seminare")
    values.update(overrides)
    make_registration(session, seminar, **values)


@pytest.fixture
def seminar(runtime):
    """Ids of an organiser's seminar on Wednesday 2 December 2026, 13:30 Berlin, with three questions."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session)
        seminar = make_seminar(session, organiser, title="Kommunal Engagiert: Bürgerhaushalt",
                               starts_at=berlin(2026, 12, 2, 13, 30), capacity=None)
        add_question(session, seminar, "recording", QuestionKind.CHECKBOX, 3, "Aufzeichnung ist ok",
                     "Recording is fine")
        add_question(session, seminar, "role", QuestionKind.SINGLE_CHOICE, 1, "Rolle", "Role", ROLE_OPTIONS)
        add_question(session, seminar, "topics", QuestionKind.MULTIPLE_CHOICE, 2, "Themen", "Topics", TOPIC_OPTIONS)
        return {"by": principal(organiser.id), "seminar_id": seminar.id}


def add_people(runtime, seminar_id, *people):
    """Registrations given as (name, created_at, overrides) for the seminar."""
    with write_transaction(runtime.sessions) as session:
        seminar = session.get(Seminar, seminar_id)
        for name, created_at, overrides in people:
            add_registration(session, seminar, name, created_at, **overrides)


def csv_bytes(runtime, **arguments) -> bytes:
    """The whole CSV export as a client receives it."""
    return b"".join(export_attendees(runtime.sessions, **arguments).chunks)


def csv_rows(runtime, delimiter=";", **arguments) -> list[list[str]]:
    """The CSV export read as Excel reads it."""
    body = csv_bytes(runtime, delimiter=delimiter, **arguments)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def xlsx_sheet(runtime, **arguments):
    """The XLSX export's sheet as openpyxl reads it back."""
    body = b"".join(export_attendees(runtime.sessions, fmt="xlsx", **arguments).chunks)
    return openpyxl.load_workbook(io.BytesIO(body)).active


def test_csv_opens_in_german_excel_with_umlauts_and_local_times(runtime, seminar):
    add_people(runtime, seminar["seminar_id"], ("Jürgen Groß", berlin(2026, 11, 21, 13, 30), {"n": "juergen"}))
    body = csv_bytes(runtime, **seminar)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[0] == ('"Status";"Name";"E-Mail";"Rolle";"Themen";"Aufzeichnung ist ok";"Angemeldet am";'
                        '"Bestätigt am";"Einwilligung am";"Einwilligungsversion";"E-Mail bestätigt am";'
                        '"Anmeldeseite"')
    assert lines[1] == ('"bestätigt";"Jürgen Groß";"juergen@example.org";"";"";"Nein";"21.11.2026 13:30";'
                        '"21.11.2026 13:35";"21.11.2026 13:30";"2026-11-de-en-1";"21.11.2026 13:35";'
                        '"https://partner.example/seminare"')


def test_csv_with_comma_delimiter_when_asked(runtime, seminar):
    add_people(runtime, seminar["seminar_id"], ("Anna Müller", berlin(2026, 10, 20, 9), {}))
    body = csv_bytes(runtime, delimiter=",", **seminar).decode("utf-8-sig")
    assert body.split("\r\n")[1].startswith('"bestätigt","Anna Müller","anna.müller@example.org",')
    # Summer time: the wall clock of the day, not the winter offset of the seminar.
    assert '"20.10.2026 09:00"' in body


def test_bad_format_delimiter_or_scope_is_refused(runtime, seminar):
    for wrong in ({"fmt": "pdf"}, {"delimiter": "|"}, {"language": "fr"}, {"series_id": 1}):
        with pytest.raises(ValueError):
            export_attendees(runtime.sessions, **seminar, **wrong)
    with pytest.raises(ValueError):
        export_attendees(runtime.sessions, by=seminar["by"])


def formula_people(runtime, seminar):
    """A registration whose name and answers a spreadsheet would take for formulas."""
    add_people(runtime, seminar["seminar_id"], (FORMULA_NAME, berlin(2026, 11, 21, 13, 30), {
        "n": "formula", "answers": {"role": "+49 30 1234", "topics": ["-1+1"]},
        "source_page": "@SUM(A1:A2)", "consent_version": "\t=1+1"}))


def test_formula_like_text_is_plain_text_in_csv(runtime, seminar):
    formula_people(runtime, seminar)
    row = csv_rows(runtime, **seminar)[1]
    assert row[1] == "'" + FORMULA_NAME
    assert row[3:5] == ["'+49 30 1234", "'-1+1"]
    assert row[9] == "'\t=1+1"
    assert row[11] == "'@SUM(A1:A2)"


def test_an_organisers_question_label_is_no_formula_in_the_csv_header(runtime, seminar):
    with write_transaction(runtime.sessions) as session:
        add_question(session, session.get(Seminar, seminar["seminar_id"]), "sum", QuestionKind.SHORT_TEXT, 4,
                     "=SUM(A1:A9)")
    header = csv_rows(runtime, **seminar)[0]
    assert "'=SUM(A1:A9)" in header and "=SUM(A1:A9)" not in header


def test_formula_like_text_is_plain_text_in_xlsx(runtime, seminar):
    formula_people(runtime, seminar)
    sheet = xlsx_sheet(runtime, **seminar)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [sheet[c].value for c in ("B2", "D2", "E2", "J2", "L2")] == [
        FORMULA_NAME, "+49 30 1234", "-1+1", "\t=1+1", "@SUM(A1:A2)"]
    # Excel's quote prefix keeps the text text even when the cell is edited.
    assert sheet["B2"].quotePrefix and sheet["D2"].quotePrefix


def test_xlsx_has_local_date_cells_bold_frozen_header_and_autofilter(runtime, seminar):
    add_people(runtime, seminar["seminar_id"],
               ("Jürgen Groß", berlin(2026, 11, 21, 13, 30), {"n": "juergen"}),
               ("Anna Müller", berlin(2026, 10, 20, 9), {"n": "anna", "confirmed_at": None}))
    sheet = xlsx_sheet(runtime, **seminar)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L3"
    assert sheet["A1"].font.b and sheet["A1"].value == "Status"
    assert sheet["B2"].value == "Anna Müller" and sheet["G2"].value == datetime(2026, 10, 20, 9, 0)
    assert sheet["H2"].value is None
    assert sheet["G3"].value == datetime(2026, 11, 21, 13, 30)
    assert sheet["G3"].is_date and sheet.column_dimensions["C"].width > 20


def test_choices_are_joined_with_option_labels_in_the_export_language(runtime, seminar):
    add_people(runtime, seminar["seminar_id"], ("Jürgen Groß", berlin(2026, 11, 21, 13, 30), {
        "n": "juergen", "answers": {"role": "mayor", "topics": ["funding", "youth"], "recording": True}}))
    german = csv_rows(runtime, **seminar)
    assert german[1][3:6] == ["Ortsbürgermeisterin oder Ortsbürgermeister", "Förderung, Jugend", "Ja"]
    english = csv_rows(runtime, language="en", **seminar)
    assert english[0][:6] == ["Status", "Name", "Email", "Role", "Topics", "Recording is fine"]
    assert english[1][0] == "confirmed" and english[1][3:6] == ["Mayor", "Funding, Youth", "Yes"]


def test_status_filter_keeps_only_the_chosen_statuses(runtime, seminar):
    start = berlin(2026, 11, 21, 10)
    add_people(runtime, seminar["seminar_id"],
               ("Anna", start, {"status": S.CONFIRMED}),
               ("Bert", start + timedelta(minutes=1), {"status": S.WAITLISTED}),
               ("Cleo", start + timedelta(minutes=2), {"status": S.CANCELLED}),
               ("Dora", start + timedelta(minutes=3), {"status": S.PENDING}))
    everyone = csv_rows(runtime, **seminar)[1:]
    assert [(row[0], row[1]) for row in everyone] == [
        ("bestätigt", "Anna"), ("Warteliste", "Bert"), ("abgemeldet", "Cleo"), ("unbestätigt", "Dora")]
    chosen = csv_rows(runtime, statuses={S.CONFIRMED, S.WAITLISTED}, language="en", **seminar)[1:]
    assert [(row[0], row[1]) for row in chosen] == [("confirmed", "Anna"), ("waiting list", "Bert")]


def test_series_export_unites_questions_by_key_in_order_of_start_and_registration(runtime):
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session)
        series = make_series(session, organiser, slug="kommunal-engagiert")
        later = make_seminar(session, organiser, series=series, title="Teil 2", starts_at=berlin(2026, 12, 9, 13, 30))
        first = make_seminar(session, organiser, series=series, title="Teil 1", starts_at=berlin(2026, 12, 2, 13, 30))
        add_question(session, first, "role", QuestionKind.SINGLE_CHOICE, 2, "Rolle", options=ROLE_OPTIONS)
        add_question(session, later, "role", QuestionKind.SINGLE_CHOICE, 1, "Ihre Rolle", options=ROLE_OPTIONS)
        add_question(session, later, "recording", QuestionKind.CHECKBOX, 1, "Aufzeichnung ist ok")
        other = make_seminar(session, organiser, title="Nicht in der Reihe")
        add_registration(session, later, "Anna", berlin(2026, 11, 1, 10), answers={"role": "volunteer"})
        add_registration(session, first, "Cleo", berlin(2026, 11, 3, 10), answers={"role": "mayor"})
        add_registration(session, first, "Bert", berlin(2026, 11, 2, 10))
        add_registration(session, other, "Dora", berlin(2026, 11, 2, 10))
        scope = {"by": principal(organiser.id), "series_id": series.id}
    export = export_attendees(runtime.sessions, now=berlin(2026, 12, 1, 0, 30), **scope)
    assert export.filename == "kommunal-engagiert-2026-12-01-teilnehmende.csv"
    rows = csv_rows(runtime, **scope)
    assert rows[0][:7] == ["Status", "Name", "E-Mail", "Seminar", "Beginn", "Aufzeichnung ist ok", "Rolle"]
    assert [row[1:7] for row in rows[1:]] == [
        ["Bert", "bert@example.org", "Teil 1", "02.12.2026 13:30", "", ""],
        ["Cleo", "cleo@example.org", "Teil 1", "02.12.2026 13:30", "", "Ortsbürgermeisterin oder Ortsbürgermeister"],
        ["Anna", "anna@example.org", "Teil 2", "09.12.2026 13:30", "Nein", "Ehrenamtlich"],
    ]


def test_another_organisers_seminar_or_series_is_not_found(runtime, seminar):
    with write_transaction(runtime.sessions) as session:
        stranger = make_organiser(session)
        theirs = make_seminar(session, stranger)
        their_series = make_series(session, stranger)
    ours = seminar["by"]
    for scope, refusal in (({"seminar_id": theirs.id}, SeminarNotFound), ({"series_id": their_series.id}, SeriesNotFound),
                           ({"seminar_id": 10**12}, SeminarNotFound), ({"series_id": theirs.id + 1000}, SeriesNotFound)):
        with pytest.raises(refusal):
            export_attendees(runtime.sessions, by=ours, **scope)
    with pytest.raises(SeminarNotFound):
        export_attendees(runtime.sessions, by=principal(stranger.id), seminar_id=seminar["seminar_id"])


def test_anonymised_registration_leaks_nothing(runtime, seminar):
    add_people(runtime, seminar["seminar_id"], ("Geheim Person", berlin(2026, 11, 21, 13, 30), {
        "n": "geheim", "anonymised_at": berlin(2026, 12, 30, 3), "consent_version": "geheim-consent",
        "answers": {"role": "mayor", "topics": ["youth"], "recording": True},
        "source_page": "https://geheim.example/"}))
    body = csv_bytes(runtime, **seminar).decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(body), delimiter=";"))[1]
    assert row == ["bestätigt", "", "", "", "", "", "21.11.2026 13:30", "21.11.2026 13:35", "", "", "", ""]
    sheet = xlsx_sheet(runtime, **seminar)
    values = [cell.value for cell in sheet[2]]
    assert values[0] == "bestätigt" and values[1:6] == [None] * 5 and values[8:] == [None] * 4
    for text in (body, " ".join(str(value) for value in values)):
        assert "geheim" not in text.lower() and "Ortsbürgermeister" not in text and "Ja" not in text


def test_csv_streams_a_long_list_in_chunks_with_its_own_session(runtime, seminar):
    start = berlin(2026, 11, 1, 8)
    count = 3 * ROWS_PER_CHUNK + 7
    add_people(runtime, seminar["seminar_id"], *(
        (f"Person {n}", start + timedelta(seconds=n), {"n": f"p{n}"}) for n in range(count)))
    export = export_attendees(runtime.sessions, **seminar)
    assert export.filename == "kommunal-engagiert-buergerhaushalt-2026-12-02-teilnehmende.csv"
    assert runtime.engine.pool.checkedout() == 0  # nothing held until Flask iterates the body
    chunks = [next(export.chunks), next(export.chunks)]
    assert runtime.engine.pool.checkedout() == 1
    chunks += list(export.chunks)
    assert runtime.engine.pool.checkedout() == 0
    assert len(chunks) == 1 + 4  # the header, then one chunk per batch of rows
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + count and rows[-1][1] == f"Person {count - 1}"


def test_csv_export_closed_early_releases_its_session(runtime, seminar):
    add_people(runtime, seminar["seminar_id"], *(
        (f"Person {n}", berlin(2026, 11, 1, 8) + timedelta(seconds=n), {"n": f"p{n}"})
        for n in range(ROWS_PER_CHUNK + 1)))
    export = export_attendees(runtime.sessions, **seminar)
    next(export.chunks), next(export.chunks)
    assert runtime.engine.pool.checkedout() == 1
    export.chunks.close()
    assert runtime.engine.pool.checkedout() == 0


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The directory where the export's temporary files go."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_xlsx_temporary_file_is_removed_after_the_download(runtime, seminar, private_tmp):
    add_people(runtime, seminar["seminar_id"], ("Anna", berlin(2026, 11, 1, 8), {}))
    export = export_attendees(runtime.sessions, fmt="xlsx", **seminar)
    assert export.filename.endswith("-teilnehmende.xlsx")
    assert export.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    first = next(export.chunks)
    assert [path.suffix for path in private_tmp.rglob("*") if path.is_file()] == [".xlsx"]
    assert runtime.engine.pool.checkedout() == 0  # the file is complete; the database is not needed
    body = first + b"".join(export.chunks)
    assert body.startswith(b"PK") and not list(private_tmp.iterdir())


def test_xlsx_temporary_file_is_removed_when_the_download_is_aborted(runtime, seminar, private_tmp):
    add_people(runtime, seminar["seminar_id"], *(
        (f"Person {n}", berlin(2026, 11, 1, 8) + timedelta(seconds=n), {"n": f"p{n}"}) for n in range(1500)))
    export = export_attendees(runtime.sessions, fmt="xlsx", **seminar)
    next(export.chunks)
    assert list(private_tmp.iterdir())
    export.chunks.close()
    assert not list(private_tmp.iterdir())
