"""The installation's statements (/barrierefreiheit, /leichte-sprache) and the footer that links them from every page."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest

from services.registration import create_app
from shared.config import Settings
from shared.db import read_session, write_transaction
from shared.links import participant_page_url
from shared.models import Registration
from tests.factories import make_organiser, make_registration, make_seminar, make_series
from tests.translations import german_left_in, german_words_in

# What the pages show does not depend on the database.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DEFAULT_BODY = Settings.enforcement_body_name
OPERATOR = dict(operator_name="Kreisverwaltung Beispiel", operator_email="barrierefrei@kreis.example",
                operator_address="Kreisverwaltung Beispiel; Am Markt 1; 54290 Trier",
                operator_imprint_url="https://kreis.example/impressum",
                operator_privacy_url="https://kreis.example/datenschutz")


@pytest.fixture
def make_client(settings):
    """A test client of the registration app with some settings changed."""
    apps = []

    def make(**overrides):
        app = create_app(replace(settings, **overrides))
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["runtime"].close()


def text_of(answer) -> str:
    """The page as a reader sees it: tags removed, entities decoded, spaces folded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", answer.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def footer_of(answer) -> dict[str, str]:
    """The footer's links: text -> address (and whether they open a new window, under "new window")."""
    page = answer.get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">'):page.index("</footer>")]
    links = {html.unescape(text): html.unescape(href)
             for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', footer)}
    links["new window"] = 'target="_blank"' in footer
    return links


# --- the accessibility statement --------------------------------------------------------------------


def test_accessibility_statement_names_compliance_limitations_date_method_contact_and_enforcement_body(make_client):
    client = make_client(**OPERATOR)

    answer = client.get("/barrierefreiheit")
    page = text_of(answer)

    assert answer.status_code == 200 and '<html lang="de">' in answer.get_data(as_text=True)
    assert "Erklärung zur Barrierefreiheit" in page and "BITV 2.0" in page and "EN 301 549" in page
    assert "WCAG 2.1 auf Stufe AA" in page
    assert "Diese Website ist mit der BITV 2.0 teilweise vereinbar." in page  # the default
    assert "Deutscher Gebärdensprache" in page  # a known limitation of the built-in list
    assert "Diese Erklärung wurde am Samstag, 5. Dezember 2026 erstellt." in page
    assert "Selbstbewertung" in page and "axe-core" in page and "nur mit der Tastatur" in page
    assert "Kreisverwaltung Beispiel Am Markt 1 54290 Trier" in page
    assert 'href="mailto:barrierefrei@kreis.example"' in answer.get_data(as_text=True)
    assert DEFAULT_BODY in page and "Mauerstraße 53" in page and "10117 Berlin" in page
    assert 'href="https://www.schlichtungsstelle-bgg.de"' in answer.get_data(as_text=True)
    assert "Das Verfahren ist kostenlos" in page
    assert "http://127.0.0.1:8000" in page  # what the statement is for


def test_accessibility_statement_in_english_has_no_german_but_the_names(make_client):
    client = make_client(**OPERATOR)

    answer = client.get("/barrierefreiheit?lang=en")
    source = answer.get_data(as_text=True)

    assert '<html lang="en">' in source
    page = text_of(answer)
    assert "Accessibility statement" in page and "This website is partially compliant with BITV 2.0." in page
    assert "This statement was prepared on Saturday, 5 December 2026." in page
    assert "Enforcement procedure" in page and "The procedure is free of charge" in page
    assert german_left_in(source) == []
    names = (DEFAULT_BODY, Settings.enforcement_body_address.split(";")[0], "Leichte Sprache", OPERATOR["operator_name"])
    assert german_words_in(source, data=names) == set()


def test_the_operator_sets_compliance_date_limitations_and_another_enforcement_body(make_client, tmp_path):
    limitations = tmp_path / "einschraenkungen.txt"
    limitations.write_text("Die Videos der Reihe haben noch keine Untertitel.\r\n\r\n"
                           "- PDF-Handouts sind nicht getaggt.\r\n- Die Karte hat keine Textfassung.\n", encoding="utf-8")
    body = Settings.from_env({"SECRET_KEY": "k" * 32, "ENFORCEMENT_BODY_NAME": "Landesbeauftragte für Barrierefreiheit",
                              "ENFORCEMENT_BODY_URL": "https://barrierefreiheit.land.example"})
    client = make_client(accessibility_compliance="full", accessibility_statement_date=body.accessibility_statement_date
                         .replace(year=2027, month=3, day=1), accessibility_limitations_file=str(limitations),
                         enforcement_body_name=body.enforcement_body_name, enforcement_body_address=body.enforcement_body_address,
                         enforcement_body_email=body.enforcement_body_email, enforcement_body_url=body.enforcement_body_url)

    german = client.get("/barrierefreiheit")
    english = client.get("/barrierefreiheit?lang=en").get_data(as_text=True)
    page = text_of(german)

    assert "Diese Website ist mit der BITV 2.0 vollständig vereinbar." in page
    assert "Montag, 1. März 2027" in page
    assert "<p>Die Videos der Reihe haben noch keine Untertitel.</p>" in german.get_data(as_text=True)
    assert re.search(r"<ul><li>PDF-Handouts sind nicht getaggt.</li><li>Die Karte hat keine Textfassung.</li></ul>",
                     german.get_data(as_text=True))
    assert "Gebärdensprache" not in page  # the operator's list replaces the built-in one
    assert "Landesbeauftragte für Barrierefreiheit" in page and "https://barrierefreiheit.land.example" in page
    # Another body's name brings none of the federal body's address or words.
    assert "Mauerstraße" not in page and "schlichtungsstelle-bgg" not in page and "kostenlos" not in page
    # No English text given: the German one, marked as German for screen readers.
    assert '<div lang="de">' in english and "Die Videos der Reihe" in english


def test_an_english_limitations_file_is_shown_in_english_and_a_missing_file_leaves_the_built_in_list(
        make_client, tmp_path):
    english_file = tmp_path / "limitations.en.txt"
    english_file.write_text("The series' videos have no subtitles yet.\n", encoding="utf-8")
    client = make_client(accessibility_limitations_file=str(tmp_path / "missing.txt"),
                         accessibility_limitations_file_en=str(english_file))

    english = client.get("/barrierefreiheit?lang=en").get_data(as_text=True)
    german = client.get("/barrierefreiheit")

    assert "The series' videos have no subtitles yet." in html.unescape(english) and '<div lang="de">' not in english
    assert german.status_code == 200 and "Deutscher Gebärdensprache" in text_of(german)


# --- Leichte Sprache ----------------------------------------------------------------------------------


def easy_read_sentences(answer) -> list[str]:
    """The sentences of the page's own text (the part in Leichte Sprache), headings included."""
    page = answer.get_data(as_text=True)
    body = page[page.index('<div class="easy-read">'):page.index("<footer")]
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "\n", body)))
    return [sentence.strip() for sentence in re.split(r"(?<=[.?!:])\s+", text) if sentence.strip()]


def test_leichte_sprache_says_what_the_site_is_for_how_to_register_cancel_and_get_help(make_client):
    client = make_client(**OPERATOR)

    answer = client.get("/leichte-sprache")
    page = text_of(answer)

    assert answer.status_code == 200 and '<html lang="de">' in answer.get_data(as_text=True)
    for heading in ("Was ist diese Internet-Seite?", "So melden Sie sich an", "So melden Sie sich ab",
                    "So bekommen Sie Hilfe"):
        assert heading in page
    assert "Die Internet-Seite gehört: Kreisverwaltung Beispiel." in page
    assert 'href="mailto:barrierefrei@kreis.example"' in answer.get_data(as_text=True)
    assert "Warte-Liste bedeutet: Sie warten auf einen freien Platz." in page  # hard words are explained
    assert answer.get_data(as_text=True).count("<ol>") == 2  # the steps are lists


def test_leichte_sprache_keeps_its_rules(make_client):
    sentences = easy_read_sentences(make_client(**OPERATOR).get("/leichte-sprache"))

    assert len(sentences) > 60
    # Short sentences: one statement each.
    assert [sentence for sentence in sentences if len(sentence.split()) > 12] == []
    # No passive voice and no abbreviations.
    passive = re.compile(r"\b(wird|werden|wurde|wurden|worden)\b")
    assert [sentence for sentence in sentences if passive.search(sentence)] == []
    abbreviation = re.compile(r"\b(z\. ?B|bzw|usw|d\. ?h|ca|evtl|ggf|Nr|u\. ?a|etc)\.")
    assert [sentence for sentence in sentences if abbreviation.search(sentence)] == []


def test_leichte_sprache_in_english_is_plain_english(make_client):
    answer = make_client(**OPERATOR).get("/leichte-sprache?lang=en")
    source = answer.get_data(as_text=True)

    assert '<html lang="en">' in source and "How to register" in text_of(answer)
    assert german_left_in(source) == []
    assert german_words_in(source, data=(OPERATOR["operator_name"], "Leichte Sprache")) == set()


# --- the footer of every page ------------------------------------------------------------------------


@pytest.fixture
def seminar(runtime):
    """A seminar of an organiser with its own Impressum, in a series, with one participant."""
    with write_transaction(runtime.sessions) as session:
        organiser = make_organiser(session, slug="stiftung", imprint_url="https://stiftung.example/impressum",
                                   privacy_policy_url="https://stiftung.example/datenschutz",
                                   allowed_origins=["https://partner.example"])
        series = make_series(session, organiser, slug="kommunal-engagiert")
        seminar = make_seminar(session, organiser, series=series)
        registration = make_registration(session, seminar)
        return seminar.id, registration.id


def own_page(runtime, settings, registration_id) -> str:
    with read_session(runtime.sessions) as session:
        nonce = session.get(Registration, registration_id).token_nonce
    return participant_page_url(settings, registration_id, nonce).removeprefix(settings.registration_base_url)


def test_pages_of_one_organiser_link_its_impressum_and_privacy_policy(make_client, runtime, settings, seminar):
    client = make_client(**OPERATOR)
    seminar_id, registration_id = seminar
    participant = own_page(runtime, settings, registration_id)

    for path in (f"/events/{seminar_id}", participant, f"{participant}/cancel",
                 f"/events/{seminar_id}/registered?status=pending"):
        assert footer_of(client.get(path)) == {
            "Barrierefreiheit": "/barrierefreiheit?lang=de", "Leichte Sprache": "/leichte-sprache?lang=de",
            "Impressum": "https://stiftung.example/impressum", "Datenschutz": "https://stiftung.example/datenschutz",
            "new window": False,
        }, path
    assert footer_of(client.get(f"/events/{seminar_id}?lang=en")) == {
        "Accessibility": "/barrierefreiheit?lang=en", "Easy read": "/leichte-sprache?lang=en",
        "Legal notice": "https://stiftung.example/impressum", "Data protection": "https://stiftung.example/datenschutz",
        "new window": False,
    }


def test_embedded_pages_link_the_organiser_and_open_the_links_in_a_new_window(make_client, seminar):
    client = make_client(**OPERATOR)
    seminar_id, _ = seminar

    for path in (f"/embed/events/{seminar_id}", "/embed/series/kommunal-engagiert",
                 f"/embed/events/{seminar_id}/registered?status=pending"):
        footer = footer_of(client.get(path))
        assert footer["Impressum"] == "https://stiftung.example/impressum", path
        assert footer["Barrierefreiheit"] == "/barrierefreiheit?lang=de" and footer["new window"], path


def test_pages_of_the_installation_link_the_operators_impressum_and_privacy_policy(make_client, seminar):
    client = make_client(**OPERATOR)
    operator = {"Barrierefreiheit": "/barrierefreiheit?lang=de", "Leichte Sprache": "/leichte-sprache?lang=de",
                "Impressum": "https://kreis.example/impressum", "Datenschutz": "https://kreis.example/datenschutz",
                "new window": False}

    for path in ("/", "/barrierefreiheit", "/leichte-sprache", "/events/999999", "/manage/login"):
        assert footer_of(client.get(path, headers={"Accept": "text/html"})) == operator, path


def test_an_organiser_without_impressum_falls_back_to_the_operators_and_none_leaves_the_link_out(
        make_client, runtime):
    with write_transaction(runtime.sessions) as session:
        seminar_id = make_seminar(session, make_organiser(session, imprint_url=None)).id

    with_operator = footer_of(make_client(**OPERATOR).get(f"/events/{seminar_id}"))
    without = footer_of(make_client().get(f"/events/{seminar_id}"))
    start_page = footer_of(make_client().get("/"))

    assert with_operator["Impressum"] == "https://kreis.example/impressum"
    assert with_operator["Datenschutz"] == "https://organiser.example/datenschutz"
    assert "Impressum" not in without and without["Datenschutz"] == "https://organiser.example/datenschutz"
    assert set(start_page) == {"Barrierefreiheit", "Leichte Sprache", "new window"}
