"""The installation's statements: accessibility (BITV 2.0) at /barrierefreiheit, Leichte Sprache at /leichte-sprache."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, render_template

from shared.config import Settings
from shared.texts import paragraphs
from shared.times import format_day
from services.registration.web.context import current_runtime, page_language

statements = Blueprint("statements", __name__, template_folder="templates")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextBlock:
    """A paragraph of the operator's own text, or a list when each of its lines starts with "- "."""

    text: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class OperatorText:
    """The operator's own text of the known limitations, and the language it is written in."""

    blocks: tuple[TextBlock, ...]
    language: str


@statements.get("/barrierefreiheit")
def accessibility_statement():
    """The accessibility statement: compliance, known limitations, feedback contact, enforcement body."""
    settings = current_runtime().settings
    language = page_language()
    return render_template(
        "statements/accessibility.html",
        settings=settings,
        statement_date=format_day(settings.accessibility_statement_date, language),
        operator_address=_lines(settings.operator_address),
        body_address=_lines(settings.enforcement_body_address),
        limitations=operator_limitations(settings, language),
        # The default body's own words (free, no lawyer) say nothing about another body.
        federal_body=settings.enforcement_body_name == Settings.enforcement_body_name,
    )


@statements.get("/leichte-sprache")
def easy_read():
    """What the site is for, how to register, cancel and get help, in Leichte Sprache (plain English in English)."""
    return render_template("statements/easy_read.html", settings=current_runtime().settings)


def operator_limitations(settings: Settings, language: str) -> OperatorText | None:
    """The operator's text of the known limitations in the reader's language if there is one, else in German."""
    files = [(settings.accessibility_limitations_file_en, "en")] if language == "en" else []
    files.append((settings.accessibility_limitations_file, "de"))
    for name, written_in in files:
        if not name:
            continue
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as problem:
            # The statement must stay readable: the built-in list stands in, and the log says why.
            log.warning("accessibility limitations file %s unreadable: %s", name, problem)
            continue
        return OperatorText(tuple(_block(paragraph) for paragraph in paragraphs(text)), written_in)
    return None


def _block(paragraph: str) -> TextBlock:
    lines = [line.strip() for line in paragraph.splitlines()]
    if all(line.startswith("- ") for line in lines):
        return TextBlock(items=tuple(line[2:].strip() for line in lines))
    return TextBlock(text=" ".join(lines))


def _lines(address: str) -> list[str]:
    # An environment variable holds one line: ";" separates the lines of a postal address.
    return [line.strip() for line in address.split(";") if line.strip()]
