"""Using the organiser web pages from a Flask test client: the session's CSRF token and logging in."""

from __future__ import annotations


def csrf(client) -> str:
    """The CSRF token of the client's session (the one its forms carry)."""
    with client.session_transaction("/manage/") as session:
        return session.get("csrf_token", "")


def log_in(client, email: str, password: str, **fields):
    """Open the login page and send it, as a person does; returns the answer to the post."""
    client.get("/manage/login")
    return client.post("/manage/login", data={"email": email, "password": password, "csrf_token": csrf(client),
                                              **fields})
