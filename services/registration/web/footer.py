"""The links at the foot of every page: accessibility, Leichte Sprache, Impressum and privacy policy."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for

from shared.models import Organiser
from services.registration.web.context import current_runtime, page_language


@dataclass(frozen=True)
class FooterLinks:
    """Where the footer's links lead; an empty address leaves its link out."""

    accessibility: str
    easy_read: str
    imprint: str
    privacy: str
    # Inside a partner's iframe the pages open in a new window: they may not be framed.
    new_window: bool


def footer_links(organiser: Organiser | None = None) -> FooterLinks:
    """The footer of a page; an organiser's page names its Impressum and privacy policy, else the operator's."""
    settings = current_runtime().settings
    language = page_language()
    return FooterLinks(
        accessibility=url_for("statements.accessibility_statement", lang=language),
        easy_read=url_for("statements.easy_read", lang=language),
        imprint=(organiser.imprint_url if organiser else None) or settings.operator_imprint_url,
        privacy=(organiser.privacy_policy_url if organiser else None) or settings.operator_privacy_url,
        new_window=request.path.startswith("/embed/"),
    )


def footer_helpers() -> dict:
    """What ``base.html`` needs for its footer: ``site_footer(organiser)``."""
    return {"site_footer": footer_links}
