"""One seminar's bad data stays with that seminar: lists and feeds leave it out, log it and count it, and go on.

Dates are checked where they come in (``shared.times.in_accepted_range``), but a row
written before a check existed, or a fault nobody foresaw, must not take down the
list or feed of every organiser that shows it.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, TypeVar

from shared.metrics import LEFT_OUT
from shared.times import in_accepted_range

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Shown = TypeVar("Shown")


class CannotBeShown(ValueError):
    """A seminar whose stored data no page, feed or calendar file can show."""


def each_shown(items: Iterable[Item], show: Callable[[Item], Shown], what: str = "seminar") -> list[Shown]:
    """``show(item)`` for each item; an item it fails for is left out, logged with its id and counted."""
    shown = []
    for item in items:
        try:
            shown.append(show(item))
        except Exception:  # noqa: BLE001 - any fault of one item stays with that item
            log.exception("%s %s left out: its data cannot be shown", what, getattr(item, "id", "?"),
                          extra={"left_out": what, "left_out_id": getattr(item, "id", None)})
            LEFT_OUT.labels(what).inc()
    return shown


def showable(seminar: Item) -> Item:
    """The seminar itself if its times can be shown (local times, calendar files); else CannotBeShown."""
    if not (in_accepted_range(seminar.starts_at) and in_accepted_range(seminar.ends_at)):
        raise CannotBeShown(f"seminar {seminar.id} lies outside the accepted dates")
    return seminar
