"""Demo seminars for a fresh installation: ``python -m shared.demo`` loads them into an empty database.

The dates move with today's date so that registration is always open.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_session_factory, write_transaction
from shared.models import Organiser, Question, QuestionKind, Seminar, SeminarFormat, SeminarStatus, Series
from shared.times import from_local, utcnow

BERLIN = "Europe/Berlin"
WEDNESDAY = 2


def next_weekday(start: date, weekday: int, at_least_days: int) -> date:
    """The first given weekday at least ``at_least_days`` after ``start``."""
    day = start + timedelta(days=at_least_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _berlin(day: date, hour: int, minute: int) -> datetime:
    return from_local(datetime.combine(day, time(hour, minute)), BERLIN)


ROLES = [
    ("ehrenamt", "Ehrenamtlich engagiert", "Volunteer"),
    ("ortsbuergermeister", "Ortsbürgermeisterin oder Ortsbürgermeister", "Honorary mayor"),
    ("verwaltung", "Kommunalverwaltung", "Local administration"),
    ("verein", "Vereinsvorstand", "Association board"),
    ("andere", "Andere", "Other"),
]


def common_questions() -> list[Question]:
    """The optional questions most organisers ask: organisation and role."""
    return [
        Question(position=1, key="organisation", kind=QuestionKind.SHORT_TEXT,
                 label_de="Organisation oder Gemeinde", label_en="Organisation or municipality"),
        Question(position=2, key="role", kind=QuestionKind.SINGLE_CHOICE,
                 label_de="In welcher Rolle nehmen Sie teil?", label_en="In which role are you taking part?",
                 options=[{"value": v, "label_de": de, "label_en": en} for v, de, en in ROLES]),
    ]


def load_demo(sessions: sessionmaker[Session], today: date | None = None) -> bool:
    """Insert the demo organisers, series and seminars unless any organiser exists."""
    today = today or utcnow().date()
    with write_transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(Organiser)):
            return False
        foundation = Organiser(
            slug="stiftung-engagement",
            name="Deutsche Stiftung für Engagement und Ehrenamt",
            contact_email="veranstaltungen@stiftung-engagement.example",
            website_url="https://stiftung-engagement.example",
            privacy_policy_url="https://stiftung-engagement.example/datenschutz",
            imprint_url="https://stiftung-engagement.example/impressum",
            allowed_origins=["http://127.0.0.1:8080", "http://localhost:8080"],
        )
        district = Organiser(
            slug="landkreis-trier-saarburg",
            name="Kreisverwaltung Trier-Saarburg, Leitstelle Familie",
            contact_email="ehrenamt@trier-saarburg.example",
            website_url="https://trier-saarburg.example",
            privacy_policy_url="https://trier-saarburg.example/datenschutz",
            imprint_url="https://trier-saarburg.example/impressum",
            allowed_origins=["http://127.0.0.1:8080", "http://localhost:8080"],
        )
        series = Series(
            organiser=foundation,
            slug="kommunal-engagiert",
            title="Kommunal Engagiert",
            description=(
                "Kostenlose Online-Seminare für Kommunen, Verwaltungen und Engagierte: "
                "jeden Monat ein Thema rund um die Förderung des Ehrenamts vor Ort."
            ),
        )
        first = next_weekday(today, WEDNESDAY, at_least_days=7)
        second = first + timedelta(days=28)
        conference_day = next_weekday(today, 0, at_least_days=42)  # a Monday, six weeks out
        session.add_all(
            [
                foundation,
                district,
                series,
                Seminar(
                    organiser=foundation,
                    series=series,
                    title="Junge Wilde: Räume schaffen für das Engagement junger Menschen",
                    description=(
                        "Wer früh erlebt, dass Engagement etwas bewirkt, bleibt oft dabei. "
                        "Das Seminar zeigt, wie Kommunen Jugendlichen eigene Spielräume geben: "
                        "mit Jugendfonds, Jugendparlamenten und unkomplizierter Unterstützung "
                        "für selbst organisierte Projekte.\n\n"
                        "Mit Beispielen aus Landkreisen und Zeit für Ihre Fragen."
                    ),
                    status=SeminarStatus.PUBLISHED,
                    format=SeminarFormat.ONLINE,
                    join_url="https://konferenz.stiftung-engagement.example/junge-wilde",
                    timezone=BERLIN,
                    starts_at=_berlin(first, 13, 30),
                    ends_at=_berlin(first, 15, 0),
                    capacity=100,
                    questions=common_questions(),
                ),
                Seminar(
                    organiser=foundation,
                    series=series,
                    title="Wieso, weshalb, warum? Engagementstrategien auf kommunaler Ebene",
                    description=(
                        "Bund und Länder haben Engagementstrategien, doch was bringt eine "
                        "Strategie einer Gemeinde oder einem Landkreis? Wir sehen uns an, wie "
                        "Kommunen zu ihren Zielen kommen, welche Werkzeuge sie nutzen und was "
                        "sich danach tatsächlich ändert."
                    ),
                    status=SeminarStatus.PUBLISHED,
                    format=SeminarFormat.ONLINE,
                    join_url="https://konferenz.stiftung-engagement.example/engagementstrategien",
                    timezone=BERLIN,
                    starts_at=_berlin(second, 13, 30),
                    ends_at=_berlin(second, 15, 0),
                    capacity=100,
                    questions=common_questions(),
                ),
                Seminar(
                    organiser=district,
                    title="Hauptamt stärkt Ehrenamt: Fachkonferenz für ländliche Räume",
                    description=(
                        "Drei Jahre lang haben Landkreise erprobt, wie hauptamtliche Stellen "
                        "Ehrenamtliche vor Ort entlasten und begleiten. Die Konferenz stellt "
                        "Ergebnisse und Empfehlungen vor, mit Praxisberichten aus den "
                        "Modellregionen. Teilnahme in Berlin oder online."
                    ),
                    status=SeminarStatus.PUBLISHED,
                    format=SeminarFormat.HYBRID,
                    location="Tagungszentrum, Berlin-Mitte",
                    join_url="https://konferenz.trier-saarburg.example/hauptamt-staerkt-ehrenamt",
                    timezone=BERLIN,
                    starts_at=_berlin(conference_day, 10, 0),
                    ends_at=_berlin(conference_day, 16, 30),
                    capacity=80,
                    questions=[
                        *common_questions(),
                        Question(position=3, key="attendance", kind=QuestionKind.SINGLE_CHOICE,
                                 required=True, label_de="Wie nehmen Sie teil?",
                                 label_en="How will you take part?",
                                 options=[{"value": "berlin", "label_de": "Vor Ort in Berlin",
                                           "label_en": "On site in Berlin"},
                                          {"value": "online", "label_de": "Online", "label_en": "Online"}]),
                    ],
                ),
            ]
        )
    return True


def main() -> None:
    """Load the demo data into the database named by DATABASE_URL when it is empty."""
    engine = make_engine(os.environ.get("DATABASE_URL", Settings.database_url))
    loaded = load_demo(make_session_factory(engine))
    print("Demo-Seminare geladen." if loaded else "Datenbank enthält bereits Daten; keine Demo geladen.")
    engine.dispose()


if __name__ == "__main__":
    main()
