"""The message catalog: complete, checked, and actually used for English."""

from __future__ import annotations

import ast
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from scripts.messages import ROOT, problems
from shared.i18n import translate, translate_context, translate_plural, translator
from tests.translations import german_left_in, german_words_in


def test_every_text_in_code_and_templates_has_its_english_translation():
    assert problems("en") == []


def test_the_check_finds_missing_unused_untranslated_and_mismatched_texts(tmp_path):
    templates = tmp_path / "services" / "demo" / "templates"
    templates.mkdir(parents=True)
    (templates / "page.html").write_text(
        '{{ _("Neuer Text") }} {{ _("Noch %(count)s Plätze", count=3) }} {{ _("Ohne Übersetzung") }}'
    )
    (tmp_path / "services" / "demo" / "texts.py").write_text('from shared.i18n import N_\nHELLO = N_("Hallo")\n')
    catalog = Catalog(locale="en")
    catalog.add("Hallo", "Hello")
    catalog.add("Noch %(count)s Plätze", "%(number)s seats left")
    catalog.add("Ohne Übersetzung", "")
    catalog.add("Nicht mehr verwendet", "No longer used")
    path = tmp_path / "en.po"
    with path.open("wb") as handle:
        write_po(handle, catalog)

    found = problems("en", root=tmp_path, path=path)

    assert found == [
        "missing from the catalog: ('', 'Neuer Text')",
        "no longer used: ('', 'Nicht mehr verwendet')",
        "placeholders differ: ('', 'Noch %(count)s Plätze')",
        "not translated: ('', 'Ohne Übersetzung')",
    ]


def test_texts_are_translated_with_placeholders_plurals_and_contexts():
    assert translate("en", "Das Formular ist abgelaufen. Bitte senden Sie es erneut.") == (
        "The form has expired. Please submit it again."
    )
    assert translate("de", "Das Formular ist abgelaufen. Bitte senden Sie es erneut.") == (
        "Das Formular ist abgelaufen. Bitte senden Sie es erneut."
    )
    assert translate("en", "Nr. %(number)s", number=2) == "No. 2"
    assert translate_plural("en", "%(count)s Anmeldung anonymisiert.", "%(count)s Anmeldungen anonymisiert.", 1) == (
        "1 registration anonymised."
    )
    assert translate_plural("de", "%(count)s Anmeldung anonymisiert.", "%(count)s Anmeldungen anonymisiert.", 3) == (
        "3 Anmeldungen anonymisiert."
    )
    # The same German, two English texts.
    assert translate_context("en", "window", "Anmeldung") == "Registration window"
    assert translator("en").gettext("Anmeldung") == "Registration"
    # Any other language reads German.
    assert translate("fr", "Nr. %(number)s", number=2) == "Nr. 2"


def test_no_text_is_written_in_both_languages_beside_the_catalog():
    """Pairs like {"de": ..., "en": ...} or t("...", "...") would bypass the catalog and its check."""
    pairs = []
    for path in sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "shared").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Dict):
                keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
                strings = [value for value in node.values if isinstance(value, ast.Constant)
                           and isinstance(value.value, str) and " " in value.value]
                if {"de", "en"} <= keys and strings:
                    pairs.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    templates = [path for path in (ROOT / "services").rglob("templates/**/*") if path.is_file()]
    for path in templates:
        for match in re.finditer(r"(?<![\w.])t\(\s*[\"']", path.read_text()):
            pairs.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert pairs == []


def test_german_left_in_finds_an_untranslated_sentence():
    assert german_left_in("<p>Das Formular ist abgelaufen. Bitte senden Sie es erneut.</p>") != []
    assert german_left_in("<p>The form has expired. Please submit it again.</p>") == []


@pytest.fixture
def seminar(runtime):
    from shared.db import write_transaction
    from tests.factories import make_organiser, make_seminar

    with write_transaction(runtime.sessions) as session:
        return make_seminar(session, make_organiser(session), capacity=5).id


def test_public_pages_and_widget_in_english_carry_no_german(client, seminar):
    for path in ("/?lang=en", f"/events/{seminar}?lang=en", f"/embed/events/{seminar}?lang=en"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert german_left_in(page) == [], path
        assert german_words_in(page, data=("Ein Seminar für Tests.",)) == set(), path
    script = client.get("/widget.js").get_data(as_text=True)
    # tojson writes umlauts as \u escapes.
    script = re.sub(r"\\u([0-9a-f]{4})", lambda escape: chr(int(escape.group(1), 16)), script)
    english = script[script.index("en: {"):script.index("};", script.index("en: {"))]
    assert "Registration" in english
    assert german_left_in(english) == []


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_field_error_of_the_public_api_is_a_sentence_from_the_catalog(client, seminar, language):
    from shared.problems import FIELD_MESSAGES, field_message

    sentences = {field_message(code, language) for code in FIELD_MESSAGES}
    bodies = [
        {},
        {"name": 42, "email": ["x"], "consent": "maybe", "language": "fr", "answers": [], "extra": 1},
        {"name": "   ", "email": "no-address", "consent": False, "answers": {"unknown": "x"}},
        {"name": "x" * 5000, "email": "a@" + "b" * 300 + ".de", "consent": None, "language": None},
    ]
    for body in bodies:
        response = client.post(f"/api/v1/events/{seminar}/registrations", json=body,
                               headers={"Accept-Language": language})
        assert response.status_code == 422 and response.headers["Content-Language"] == language, body
        messages = [message for field in response.get_json()["errors"].values()
                    for message in (field if isinstance(field, list) else [field])]
        assert messages and all(message in sentences for message in messages), (body, messages)
