"""An organiser's own settings: name, contact, privacy and Impressum links, partner websites and retention."""

from __future__ import annotations

from typing import Any

from shared.db import read_session, write_transaction
from shared.models import Organiser
from shared.runtime import Runtime
from services.registration.accounts import audit
from services.registration.accounts.principals import Principal

# What the settings page shows and an admin may change.
ORGANISER_SETTINGS = ("name", "contact_email", "website_url", "privacy_policy_url", "imprint_url", "allowed_origins",
                      "retention_days", "retention_days_cancelled")


def get_organiser(runtime: Runtime, by: Principal) -> Organiser:
    """The organiser the principal acts for."""
    with read_session(runtime.sessions) as session:
        return session.get(Organiser, by.organiser_id)


def update_organiser(runtime: Runtime, by: Principal, data: dict[str, Any]) -> Organiser:
    """Change the organiser's contact, privacy link, partner origins or retention."""
    with write_transaction(runtime.sessions) as session:
        organiser = session.get(Organiser, by.organiser_id)
        for name, value in data.items():
            setattr(organiser, name, value)
        audit.record(session, by, "organiser.changed", "organiser", organiser.id, fields=sorted(data))
        return organiser
