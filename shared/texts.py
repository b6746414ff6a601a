"""Organisers' free texts (descriptions, messages to participants) as pages and mails show them."""

from __future__ import annotations

import re

_BLANK_LINE = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    """The paragraphs of an organiser's text: split at blank lines, whatever the line ends."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    return [paragraph.strip() for paragraph in _BLANK_LINE.split(normal) if paragraph.strip()]
