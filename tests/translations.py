"""German left in an English page or mail: catalog texts that should have been translated."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from scripts.messages import load

# Shorter texts and single words ("Name", "Veranstalter") read the same in both languages,
# occur inside other words or in the test data's names.
MIN_LENGTH = 12


@lru_cache(maxsize=1)
def _german_only() -> tuple[str, ...]:
    texts = []
    for message in load("en"):
        forms = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        for german, english in zip(forms, targets):
            # Only the fixed part before a placeholder can appear verbatim.
            fixed = german.split("%(")[0].strip()
            if len(fixed) >= MIN_LENGTH and " " in fixed and fixed not in english:
                texts.append(fixed)
    return tuple(texts)


def german_left_in(text: str) -> list[str]:
    """The catalog's German texts that appear in ``text`` (HTML entities decoded)."""
    plain = html.unescape(text)
    return [german for german in _german_only() if german in plain]


# Words that only German sentences have; a page in English should show none of them
# outside the data it displays (titles, names).
GERMAN_WORDS = frozenset({"und", "oder", "nicht", "Sie", "Ihre", "Ihr", "der", "die", "das", "ist", "sind", "für",
                          "mit", "wird", "werden", "bitte", "Bitte", "auf", "zu", "zum", "zur", "noch", "eine", "ein"})
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def german_words_in(html_text: str, data: tuple[str, ...] = ()) -> set[str]:
    """German words in the visible text of a page, after removing the ``data`` it shows."""
    text = html.unescape(_TAGS.sub(" ", html_text))
    for shown in data:
        text = text.replace(shown, " ")
    return {word for word in re.findall(r"[A-Za-zÄÖÜäöüß]+", text) if word in GERMAN_WORDS}
