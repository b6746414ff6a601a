"""German and English texts through a gettext message catalog.

German is the source language: code and templates write the German text, and
``translations/en/LC_MESSAGES/messages.po`` gives the English one. ``python -m
scripts.messages update`` collects new texts into the catalog; a test fails while
any of them lacks its translation.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("de", "en")
SOURCE_LANGUAGE = "de"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a text for the catalog where it is defined; it is translated where it is shown."""
    return message


def NC_(context: str, message: str) -> tuple[str, str]:
    """Mark a text whose English depends on where it stands (same German, other English)."""
    return context, message


def catalog_path(language: str) -> Path:
    """Where the catalog of one language lives."""
    return TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def _catalog(language: str) -> dict[str, Any]:
    # Read the .po file itself: no compiled .mo file can fall out of date.
    if language == SOURCE_LANGUAGE:
        return {}
    with catalog_path(language).open("rb") as handle:
        messages = read_po(handle, locale=language)
    return {
        _key(message.id, message.context): message.string
        for message in messages
        if message.id and message.string and not message.fuzzy
    }


def _key(message: str | tuple[str, str], context: str | None) -> str | tuple[str, str]:
    # gettext's own convention: context and text joined by EOT.
    return f"{context}\x04{message}" if context else message


def language_or_default(language: str | None) -> str:
    """A supported language code; anything else falls back to German."""
    return language if language in LANGUAGES else SOURCE_LANGUAGE


def translate(language: str, message: str, **params: Any) -> str:
    """The text in ``language``, with ``%(name)s`` placeholders filled from ``params``."""
    text = _catalog(language_or_default(language)).get(message, message)
    return text % params if params else text


def translate_context(language: str, context: str, message: str, **params: Any) -> str:
    """Like ``translate`` for a text marked with a context."""
    text = _catalog(language_or_default(language)).get(_key(message, context), message)
    return text % params if params else text


def translate_plural(language: str, singular: str, plural: str, number: int, **params: Any) -> str:
    """The singular or plural text for ``number``, which fills ``%(count)s`` unless params say otherwise."""
    translated = _catalog(language_or_default(language)).get((singular, plural))
    forms = translated if translated else (singular, plural)
    # German and English both use the singular for exactly one.
    text = forms[0] if number == 1 else forms[1]
    return text % {"count": number, **params}


class Translator:
    """``_`` and ``ngettext`` for templates, bound to one language."""

    def __init__(self, language: str) -> None:
        self.language = language_or_default(language)

    def gettext(self, message: str, **params: Any) -> str:
        """The text in this translator's language."""
        return translate(self.language, message, **params)

    def ngettext(self, singular: str, plural: str, number: int, **params: Any) -> str:
        """The singular or plural text in this translator's language."""
        return translate_plural(self.language, singular, plural, number, **params)

    def pgettext(self, context: str, message: str, **params: Any) -> str:
        """The text marked with ``context`` in this translator's language."""
        return translate_context(self.language, context, message, **params)

    def template_globals(self) -> dict[str, Any]:
        """The names templates use: ``_``, ``gettext``, ``ngettext`` and ``pgettext``."""
        return {"_": self.gettext, "gettext": self.gettext, "ngettext": self.ngettext, "pgettext": self.pgettext}


@lru_cache(maxsize=None)
def translator(language: str) -> Translator:
    """The shared translator for one language."""
    return Translator(language)
