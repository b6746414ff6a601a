"""The rows a mail shows, as read-only records: one frozen dataclass per table, fields named and typed as its columns.

The worker loads a notification with its registration, seminar, organiser and
series in one query of plain rows; building ORM objects from them cost about as
much again as the query. The record types are made from the tables, so a new
column is in them without a second list to keep in step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from sqlalchemy import Row, Table, bindparam, select

from shared.models import Notification, Organiser, Registration, Seminar, Series


def _record_type(name: str, table: Table, **relations: Any) -> type:
    """A frozen dataclass with one field per column of ``table`` (its Python type) and the ``relations`` given."""
    fields = [(column.key, _python_type(column)) for column in table.c]
    fields += [(relation, kind) for relation, kind in relations.items()]
    return dataclasses.make_dataclass(name, fields, frozen=True, slots=True)


def _python_type(column) -> Any:
    kind = getattr(column.type, "impl", column.type)  # a TypeDecorator (UTC times) names its stored type
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return Any
    return Optional[python_type] if column.nullable else python_type


OrganiserRecord = _record_type("OrganiserRecord", Organiser.__table__)
SeriesRecord = _record_type("SeriesRecord", Series.__table__)
SeminarRecord = _record_type("SeminarRecord", Seminar.__table__, organiser=OrganiserRecord,
                             series=Optional[SeriesRecord])
RegistrationRecord = _record_type("RegistrationRecord", Registration.__table__, seminar=SeminarRecord)
NotificationRecord = _record_type("NotificationRecord", Notification.__table__, registration=RegistrationRecord)

_TABLES = {"notification": Notification.__table__, "registration": Registration.__table__,
           "seminar": Seminar.__table__, "organiser": Organiser.__table__, "series": Series.__table__}
# Everything a mail shows, in one query; built once, like the worker's other statements.
LOAD_EVERYTHING_A_MAIL_SHOWS = (
    select(*(column for table in _TABLES.values() for column in table.c))
    .select_from(
        _TABLES["notification"]
        .join(_TABLES["registration"], _TABLES["registration"].c.id == _TABLES["notification"].c.registration_id)
        .join(_TABLES["seminar"], _TABLES["seminar"].c.id == _TABLES["registration"].c.seminar_id)
        .join(_TABLES["organiser"], _TABLES["organiser"].c.id == _TABLES["seminar"].c.organiser_id)
        .outerjoin(_TABLES["series"], _TABLES["series"].c.id == _TABLES["seminar"].c.series_id)
    )
    .where(_TABLES["notification"].c.id == bindparam("notification_id"))
)


def mail_record(row: Row) -> NotificationRecord:
    """The notification and what it belongs to, from one row of ``LOAD_EVERYTHING_A_MAIL_SHOWS``.

    ``notification.registration.seminar.organiser`` and ``….seminar.series`` (None
    without a series): what the mails, calendar files and obsolescence rules read.
    """
    values, position = {}, 0
    for name, table in _TABLES.items():
        values[name] = dict(zip(table.c.keys(), row[position:position + len(table.c)]))
        position += len(table.c)
    series = SeriesRecord(**values["series"]) if values["series"]["id"] is not None else None
    seminar = SeminarRecord(**values["seminar"], organiser=OrganiserRecord(**values["organiser"]), series=series)
    registration = RegistrationRecord(**values["registration"], seminar=seminar)
    return NotificationRecord(**values["notification"], registration=registration)
