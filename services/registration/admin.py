"""Command line for operators: create organisers and their first admins, reset passwords.

    python -m services.registration.admin create-organiser --slug stiftung --name "Stiftung" \\
        --contact-email team@stiftung.example --privacy-url https://stiftung.example/datenschutz
    python -m services.registration.admin create-admin --organiser stiftung --email anna@stiftung.example

The password is asked for twice on the terminal (or read from the environment
variable ADMIN_PASSWORD, for scripts); it is never an argument, so it stays out
of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy import select

from shared.config import ConfigError, Settings
from shared.db import read_session, write_transaction
from shared.models import Account, Organiser, Role
from shared.problems import Refusal
from shared.runtime import Runtime, make_runtime
from services.registration.accounts.logins import change_password
from services.registration.accounts.members import create_account, grant_role
from services.registration.accounts.sessions import end_all_sessions


class PasswordsDiffer(Refusal):
    """The password typed twice on the terminal was not the same."""

    code, status = "passwords_differ", 422


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        runtime = make_runtime(Settings.from_env())
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return arguments.command(runtime, arguments)
    except Refusal as exc:
        print(f"Error: {exc.code}", file=sys.stderr)
        return 1
    finally:
        runtime.close()


def create_organiser(runtime: Runtime, arguments) -> int:
    """Create an organiser (a tenant) if its slug is free."""
    with write_transaction(runtime.sessions) as session:
        if session.scalar(select(Organiser.id).where(Organiser.slug == arguments.slug)):
            print(f"Organiser {arguments.slug!r} exists already.", file=sys.stderr)
            return 1
        session.add(Organiser(
            slug=arguments.slug, name=arguments.name, contact_email=arguments.contact_email,
            privacy_policy_url=arguments.privacy_url, allowed_origins=[],
        ))
    print(f"Organiser {arguments.slug!r} created.")
    return 0


def create_admin(runtime: Runtime, arguments) -> int:
    """Create an account (or take an existing one) and make it an admin of the organiser."""
    with read_session(runtime.sessions) as session:
        organiser_id = session.scalar(select(Organiser.id).where(Organiser.slug == arguments.organiser))
        account_id = session.scalar(select(Account.id).where(Account.email == arguments.email.strip().lower()))
    if organiser_id is None:
        print(f"No organiser {arguments.organiser!r}; create it with create-organiser.", file=sys.stderr)
        return 1
    if account_id is None:
        account_id = create_account(runtime, arguments.email, arguments.name or arguments.email, _password())
    grant_role(runtime, account_id, organiser_id, Role.ADMIN)
    print(f"{arguments.email} is now an admin of {arguments.organiser!r}. Log in at "
          f"{runtime.settings.registration_base_url}/manage/login")
    return 0


def set_password(runtime: Runtime, arguments) -> int:
    """Give an account a new password; its open sessions end."""
    account_id = _account_id(runtime, arguments.email)
    if account_id is None:
        return 1
    change_password(runtime, account_id, _password())
    print("Password changed; every session of this account has ended.")
    return 0


def end_sessions(runtime: Runtime, arguments) -> int:
    """End every session of an account (a lost laptop), without changing its password."""
    account_id = _account_id(runtime, arguments.email)
    if account_id is None:
        return 1
    print(f"{end_all_sessions(runtime, account_id)} sessions ended.")
    return 0


def _account_id(runtime: Runtime, email: str) -> int | None:
    """The id of the account with this address; None (and a message) if there is none."""
    with read_session(runtime.sessions) as session:
        account_id = session.scalar(select(Account.id).where(Account.email == email.strip().lower()))
    if account_id is None:
        print(f"No account {email!r}.", file=sys.stderr)
    return account_id


def _password() -> str:
    from_env = os.environ.get("ADMIN_PASSWORD")
    if from_env:
        return from_env
    first = getpass.getpass("Password (at least 12 characters): ")
    if first != getpass.getpass("Repeat the password: "):
        raise PasswordsDiffer()
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.registration.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True)

    organiser = commands.add_parser("create-organiser", help="create an organiser")
    organiser.add_argument("--slug", required=True)
    organiser.add_argument("--name", required=True)
    organiser.add_argument("--contact-email", required=True)
    organiser.add_argument("--privacy-url", required=True)
    organiser.set_defaults(command=create_organiser)

    admin = commands.add_parser("create-admin", help="make an account an admin of an organiser")
    admin.add_argument("--organiser", required=True, help="the organiser's slug")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="")
    admin.set_defaults(command=create_admin)

    password = commands.add_parser("set-password", help="set a new password for an account")
    password.add_argument("--email", required=True)
    password.set_defaults(command=set_password)

    sessions = commands.add_parser("end-sessions", help="end every session of an account")
    sessions.add_argument("--email", required=True)
    sessions.set_defaults(command=end_sessions)
    return parser


if __name__ == "__main__":
    sys.exit(main())
