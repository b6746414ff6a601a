"""Who acts for an organiser: a logged-in person or an API token, with the role it has there."""

from __future__ import annotations

from dataclasses import dataclass

from shared.models import Role


@dataclass(frozen=True)
class Principal:
    """Who is acting for an organiser: a logged-in person or an API token."""

    organiser_id: int
    role: Role
    actor: str
    account_id: int | None = None
    api_token_id: int | None = None
