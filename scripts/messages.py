"""The message catalog: collect the German texts from code and templates, check the English.

    python -m scripts.messages update   # add new texts to the English catalog, drop unused ones
    python -m scripts.messages check    # list texts without English (exit 1 if any)

German is written in the code; translators fill in ``msgstr`` in
``shared/translations/en/LC_MESSAGES/messages.po`` (any .po editor works).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from shared.i18n import SOURCE_LANGUAGE, catalog_path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("shared", "services")
# Python marks texts with N_/NC_ where they are defined and translate*() where they are shown;
# templates call _(), gettext(), ngettext() and pgettext(). The numbers say which argument is
# the text ("c" marks the context).
KEYWORDS = {
    "N_": None,
    "NC_": ((1, "c"), 2),
    "translate": (2,),
    "translate_plural": (2, 3),
    "translate_context": ((2, "c"), 3),
    "page_text": None,
    "page_plural": (1, 2),
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
}
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
    ("**/templates/**.js", "jinja2"),
    ("**.py", "python"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extract(root: Path = ROOT) -> Catalog:
    """Every text the code and templates mark for translation, with where it is used."""
    template = Catalog(locale=SOURCE_LANGUAGE, project="seminare")
    for folder in SOURCES:
        if not (root / folder).is_dir():
            continue
        found = extract_from_dir(root / folder, METHODS, keywords=KEYWORDS, comment_tags=("Translators:",),
                                 strip_comment_tags=True, directory_filter=_searched)
        for filename, lineno, message, comments, context in found:
            template.add(message, locations=[(f"{folder}/{filename}", lineno)],
                         auto_comments=comments, context=context)
    return template


def _searched(directory: str) -> bool:
    # Babel skips every folder starting with "_" by default, which would miss templates/email/_layout.
    name = Path(directory).name
    return not name.startswith(".") and name != "__pycache__"


def load(language: str, path: Path | None = None) -> Catalog:
    """The catalog file of one language as it is on disk."""
    with (path or catalog_path(language)).open("rb") as handle:
        return read_po(handle, locale=language)


def save(catalog: Catalog, language: str) -> None:
    """Write a catalog back, sorted and without line numbers so that diffs stay small."""
    catalog.header_comment = (
        f"# {catalog.locale.english_name} texts of seminare.\n"
        "# German is written in the code; python -m scripts.messages update collects it here."
    )
    catalog.project, catalog.version = "seminare", "1"
    catalog.msgid_bugs_address = catalog.last_translator = ""
    catalog.language_team = catalog.locale.english_name
    catalog.fuzzy = False
    path = catalog_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, include_lineno=False,
                 ignore_obsolete=True, include_previous=False)


def update(language: str = "en") -> Catalog:
    """Bring the catalog in line with the code: new texts empty, unused ones removed."""
    path = catalog_path(language)
    catalog = load(language) if path.exists() else Catalog(locale=language, project="seminare")
    catalog.update(extract(), no_fuzzy_matching=True)
    save(catalog, language)
    return catalog


def problems(language: str = "en", root: Path = ROOT, path: Path | None = None) -> list[str]:
    """What is wrong with a catalog: texts missing or untranslated, unused, placeholders that differ."""
    wanted = {_key(message) for message in extract(root) if message.id}
    have = {_key(message): message for message in load(language, path) if message.id}
    found = [f"missing from the catalog: {key!r}" for key in sorted(wanted - have.keys(), key=str)]
    found += [f"no longer used: {key!r}" for key in sorted(have.keys() - wanted, key=str)]
    for key in sorted(wanted & have.keys(), key=str):
        message = have[key]
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(targets):
            found.append(f"not translated: {key!r}")
        elif any(_placeholders(target) != _placeholders(sources[0]) for target in targets):
            found.append(f"placeholders differ: {key!r}")
    return found


def _key(message) -> tuple:
    return (message.context or "", message.id)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
        command = "check"
    if command == "check":
        found = problems()
        print("\n".join(found) or "The English catalog is complete.")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
