"""Attendee lists for organisers: one seminar or a whole series, as CSV or XLSX, streamed.

Rows are read through a server-side cursor and written out batch by batch, so
memory stays flat however long the list is. The caller gets an ``Export`` whose
``chunks`` open their own database session when iterated (Flask streams the
body after the view has returned) and close it at the end or on early close.

Anonymised registrations stay in the list, so that the counts per status still
add up, but with every field that came from the person left empty: name, email,
answers, consent and opt-in proof, source page. Only status, seminar and the
registration and confirmation times remain.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy import Select, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload, sessionmaker

from shared.db import read_session
from shared.i18n import LANGUAGES, N_, NC_, translate, translate_context
from shared.models import QuestionKind, Registration, RegistrationStatus, Seminar
from shared.times import local, utcnow
from services.registration.accounts.principals import Principal
from services.registration.domain.ownership import owned_seminar, owned_series

# Flask adds "; charset=utf-8" to a text/ mimetype itself.
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
DELIMITERS = (";", ",")
# Rows fetched from the cursor at a time, and rows per CSV chunk handed to the client.
FETCH_ROWS = 1000
ROWS_PER_CHUNK = 500
FILE_CHUNK_BYTES = 64 * 1024
# German Excel reads a CSV as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff".encode()
# A series spans many seminars; its file is dated in the zone most seminars use.
SERIES_ZONE = "Europe/Berlin"
# OWASP "CSV injection": spreadsheets run a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    # Excel has no time zones: cells hold the wall-clock time of the seminar's zone.
    "remove_timezone": True,
}
XLSX_DATE_FORMAT = "dd.mm.yyyy hh:mm"

# Texts of the export in German; the catalog has the English.
STATUS_LABELS = {
    RegistrationStatus.PENDING: NC_("registration status", "unbestätigt"),
    RegistrationStatus.CONFIRMED: NC_("registration status", "bestätigt"),
    RegistrationStatus.WAITLISTED: NC_("registration status", "Warteliste"),
    RegistrationStatus.CANCELLED: NC_("registration status", "abgemeldet"),
    RegistrationStatus.EXPIRED: NC_("registration status", "abgelaufen"),
}
HEADERS = {
    "status": N_("Status"), "name": N_("Name"), "email": N_("E-Mail"), "seminar": N_("Seminar"),
    "starts_at": N_("Beginn"), "created_at": N_("Angemeldet am"), "confirmed_at": N_("Bestätigt am"),
    "consent_at": N_("Einwilligung am"), "consent_version": N_("Einwilligungsversion"),
    "email_confirmed_at": N_("E-Mail bestätigt am"), "source_page": N_("Anmeldeseite"),
}
YES_NO = (N_("Ja"), N_("Nein"))
FILE_SUFFIX = N_("teilnehmende")
SHEET_NAME = N_("Teilnehmende")
# Wide enough for "21.11.2026 13:30" and the longest time header.
TIME_WIDTH = 20


@dataclass
class Export:
    """A file to send: its name, its type and its bytes, produced while they are sent."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class QuestionColumn:
    """One custom question as a column: its label and its options' labels in the export language."""

    key: str
    label: str
    option_labels: dict[str, str]


@dataclass(frozen=True)
class Layout:
    """What an export contains and how a registration becomes a row; fixed before streaming."""

    query: Select
    language: str
    series: bool
    status_labels: dict[RegistrationStatus, str]
    yes_no: tuple[str, str]
    questions: tuple[QuestionColumn, ...]
    # Per seminar, its checkbox questions: a missing answer there means "no", elsewhere "not asked".
    checkboxes: dict[int, frozenset[str]]


def export_attendees(
    sessions: sessionmaker[Session],
    *,
    by: Principal,
    seminar_id: int | None = None,
    series_id: int | None = None,
    fmt: str = "csv",
    statuses: Iterable[RegistrationStatus] | None = None,
    delimiter: str = ";",
    language: str = "de",
    now: datetime | None = None,
) -> Export:
    """The attendee list of one of the organiser's seminars or series (SeminarNotFound or SeriesNotFound if not theirs)."""
    if (seminar_id is None) == (series_id is None):
        raise ValueError("give exactly one of seminar_id and series_id")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if delimiter not in DELIMITERS:
        raise ValueError(f"unsupported CSV delimiter {delimiter!r}")
    if language not in LANGUAGES:
        raise ValueError(f"unsupported export language {language!r}")
    wanted = None if statuses is None else {RegistrationStatus(status) for status in statuses}
    with read_session(sessions) as session:
        if seminar_id is not None:
            seminars, stem = _seminar(session, by, seminar_id)
        else:
            seminars, stem = _series(session, by, series_id, now or utcnow())
        layout = _layout(seminars, series_id is not None, wanted, language)
    filename = f"{stem}-{translate(language, FILE_SUFFIX)}.{fmt}"
    if fmt == "csv":
        return Export(filename, CSV_MIMETYPE, _csv_chunks(sessions, layout, delimiter))
    return Export(filename, XLSX_MIMETYPE, _xlsx_chunks(sessions, layout))


def _seminar(session: Session, by: Principal, seminar_id: int) -> tuple[list[Seminar], str]:
    """The organiser's seminar with its questions, and the file name stem (title and date)."""
    seminar = owned_seminar(session, by, seminar_id)
    _ = seminar.questions  # loaded while the session is open
    return [seminar], f"{_slug(seminar.title)}-{local(seminar.starts_at, seminar.timezone):%Y-%m-%d}"


def _series(session: Session, by: Principal, series_id: int, now: datetime) -> tuple[list[Seminar], str]:
    """The organiser's series' seminars in order of start, and the file name stem (slug and export date)."""
    series = owned_series(session, by, series_id)
    seminars = session.scalars(
        select(Seminar).where(Seminar.series_id == series.id, Seminar.organiser_id == series.organiser_id)
        .order_by(Seminar.starts_at, Seminar.id).options(selectinload(Seminar.questions))
    ).all()
    return list(seminars), f"{series.slug}-{local(now, SERIES_ZONE):%Y-%m-%d}"


def _slug(title: str) -> str:
    """An ASCII file name part from a title: 'Kommunal Engagiert: Bürger' -> 'kommunal-engagiert-buerger'."""
    text = title.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text)[:60].strip("-") or "seminar"


def status_label(status: RegistrationStatus, language: str) -> str:
    """A registration's status as the organiser reads it."""
    return translate_context(language, *STATUS_LABELS[status])


def _layout(seminars: list[Seminar], series: bool, statuses: set[RegistrationStatus] | None, language: str) -> Layout:
    """Columns and query of an export of these seminars."""
    return Layout(
        query=registrations_query([seminar.id for seminar in seminars], statuses),
        language=language,
        series=series,
        status_labels={status: status_label(status, language) for status in RegistrationStatus},
        yes_no=(translate(language, YES_NO[0]), translate(language, YES_NO[1])),
        questions=_question_columns(seminars, language),
        checkboxes={
            seminar.id: frozenset(q.key for q in seminar.questions if q.kind == QuestionKind.CHECKBOX)
            for seminar in seminars
        },
    )


def _question_columns(seminars: list[Seminar], language: str) -> tuple[QuestionColumn, ...]:
    """The seminars' questions united by key: the first seminar's label wins, ordered by position."""
    first = {}
    option_labels: dict[str, dict[str, str]] = {}
    for seminar in seminars:
        for question in seminar.questions:
            first.setdefault(question.key, question)
            labels = option_labels.setdefault(question.key, {})
            for option in question.options or []:
                value = option.get("value") if isinstance(option, dict) else None
                if isinstance(value, str):
                    labels.setdefault(value, option.get(f"label_{language}") or value)
    # sorted() is stable: questions at the same position keep the order they were first seen in.
    ordered = sorted(first.values(), key=lambda question: question.position)
    return tuple(
        QuestionColumn(question.key, getattr(question, f"label_{language}"), option_labels[question.key])
        for question in ordered
    )


def registrations_query(seminar_ids: list[int], statuses: set[RegistrationStatus] | None) -> Select:
    """The registrations with their seminar, by seminar start and then registration time.

    ``_cells`` unpacks the rows in the order of these columns.
    """
    query = (
        select(
            Registration.status, Registration.name, Registration.email, Registration.answers,
            Registration.created_at, Registration.confirmed_at, Registration.consent_at,
            Registration.consent_version, Registration.email_confirmed_at, Registration.source_page,
            Registration.anonymised_at, Registration.seminar_id,
            Seminar.title.label("seminar_title"), Seminar.starts_at.label("seminar_starts_at"),
            Seminar.timezone.label("seminar_timezone"),
        )
        .join(Seminar, Registration.seminar_id == Seminar.id)
        .where(Registration.seminar_id.in_(seminar_ids))
        .order_by(Seminar.starts_at, Seminar.id, Registration.created_at, Registration.id)
    )
    if statuses is not None:
        query = query.where(Registration.status.in_(statuses))
    return query


def _columns(layout: Layout) -> list[tuple[str, int]]:
    """Header label and width (in characters) of each column, in the export language."""
    labels = {key: translate(layout.language, text) for key, text in HEADERS.items()}
    columns = [(labels["status"], 14), (labels["name"], 28), (labels["email"], 32)]
    if layout.series:
        columns += [(labels["seminar"], 36), (labels["starts_at"], TIME_WIDTH)]
    columns += [(question.label, max(24, len(question.label) + 2)) for question in layout.questions]
    columns += [(labels[key], TIME_WIDTH) for key in ("created_at", "confirmed_at", "consent_at")]
    columns += [(labels["consent_version"], 22), (labels["email_confirmed_at"], TIME_WIDTH),
                (labels["source_page"], 40)]
    return columns


def _cells(layout: Layout, row: Row) -> list[Any]:
    """One registration as cell values: text, datetimes in the seminar's zone, or None for empty."""
    # One unpacking instead of fifteen attribute look-ups on the row, which took half the time here.
    (status, name, email, answers, created_at, confirmed_at, consent_at, consent_version, email_confirmed_at,
     source_page, anonymised_at, seminar_id, seminar_title, seminar_starts_at, seminar_timezone) = row
    zone = ZoneInfo(seminar_timezone)
    status = layout.status_labels[status]
    seminar = [seminar_title, _wall_clock(seminar_starts_at, zone)] if layout.series else []
    booked = [_wall_clock(created_at, zone), _wall_clock(confirmed_at, zone)]
    if anonymised_at is not None:
        # Nothing that came from the person: see the module's docstring.
        return [status, None, None, *seminar, *[None] * len(layout.questions), *booked, None, None, None, None]
    checkboxes = layout.checkboxes[seminar_id]
    answers = answers or {}
    yes_no = layout.yes_no
    return [
        status, name, email, *seminar,
        *[_answer(question, answers.get(question.key), question.key in checkboxes, yes_no)
          for question in layout.questions],
        *booked, _wall_clock(consent_at, zone), consent_version, _wall_clock(email_confirmed_at, zone), source_page,
    ]


def _answer(question: QuestionColumn, value: Any, checkbox: bool, yes_no: tuple[str, str]) -> str | None:
    """An answer as people read it: option labels instead of values, Ja/Nein for a checkbox."""
    if value is None or value == []:
        # An unticked checkbox is stored as no answer at all.
        return yes_no[1] if checkbox else None
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, list):
        return ", ".join(question.option_labels.get(item, item) for item in value)
    return question.option_labels.get(value, value)


def _wall_clock(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """The instant in the seminar's zone; a spreadsheet shows its wall-clock time."""
    return None if moment is None else moment.astimezone(zone)


@contextmanager
def _row_batches(sessions: sessionmaker[Session], query: Select) -> Iterator[Iterator[Sequence[Row]]]:
    """The query's rows in batches, read through a server-side cursor in a session of the export's own."""
    with read_session(sessions) as session:
        result = session.connection().execute(
            query, execution_options={"stream_results": True, "yield_per": FETCH_ROWS}
        )
        try:
            yield result.partitions(ROWS_PER_CHUNK)
        finally:
            result.close()


def _csv_chunks(sessions: sessionmaker[Session], layout: Layout, delimiter: str) -> Iterator[bytes]:
    """The CSV file as German Excel opens it: BOM, every field quoted, CRLF; one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    # Headers too: question labels are written by organisers.
    writer.writerow([_csv_field(label) for label, _width in _columns(layout)])
    yield BOM + _take(buffer)
    with _row_batches(sessions, layout.query) as batches:
        for batch in batches:
            writer.writerows(map(_csv_field, _cells(layout, row)) for row in batch)
            yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    """What was written to the buffer so far, encoded; the buffer is emptied for the next chunk."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def _csv_field(cell: Any) -> str:
    """A cell as CSV text; text that a spreadsheet would run as a formula gets a leading quote."""
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        # Several times faster than strftime, which dominated the time per row.
        return f"{cell.day:02d}.{cell.month:02d}.{cell.year} {cell.hour:02d}:{cell.minute:02d}"
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _xlsx_chunks(sessions: sessionmaker[Session], layout: Layout) -> Iterator[bytes]:
    """The XLSX file, written to a private temporary directory and streamed from there.

    The directory also holds xlsxwriter's own row files and goes away when the
    generator ends or is closed, so nothing stays behind after an aborted download.
    The database session is closed before the first byte is sent.
    """
    with tempfile.TemporaryDirectory(prefix="attendee-export-") as workdir:
        path = Path(workdir) / "export.xlsx"
        _write_workbook(sessions, layout, path)
        with path.open("rb") as file:
            while chunk := file.read(FILE_CHUNK_BYTES):
                yield chunk


def _write_workbook(sessions: sessionmaker[Session], layout: Layout, path: Path) -> None:
    """Write the attendee list as a workbook: bold frozen header, autofilter, real date cells."""
    workbook = xlsxwriter.Workbook(str(path), {**XLSX_OPTIONS, "tmpdir": str(path.parent)})
    sheet = workbook.add_worksheet(translate(layout.language, SHEET_NAME))
    # write_string never makes a formula, so the file as sent is safe. OWASP's visible
    # apostrophe is for CSV, where the reading program decides; here it would change the
    # value people see, sort and filter on. Instead every text cell gets Excel's hidden
    # quote prefix (a cell style), so that a cell someone edits and confirms stays text.
    text = workbook.add_format({"quote_prefix": True})
    moment = workbook.add_format({"num_format": XLSX_DATE_FORMAT})
    bold = workbook.add_format({"bold": True})
    columns = _columns(layout)
    for number, (label, width) in enumerate(columns):
        sheet.set_column(number, number, width)
        sheet.write_string(0, number, label, bold)
    sheet.freeze_panes(1, 0)
    last_row = 0
    with _row_batches(sessions, layout.query) as batches:
        for batch in batches:
            for row in batch:
                last_row += 1
                for column, cell in enumerate(_cells(layout, row)):
                    if isinstance(cell, datetime):
                        sheet.write_datetime(last_row, column, cell, moment)
                    elif cell is not None:
                        sheet.write_string(last_row, column, cell, text)
    sheet.autofilter(0, 0, last_row, len(columns) - 1)
    workbook.close()
