"""Settings of every process, read from the environment in this one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Development state (SQLite file, Maildir, secret key, embedded Redis data) lives
# here, outside git; SEMINARE_VAR_DIR moves it (the tests use a temporary one).
VAR_DIR = Path(os.environ.get("SEMINARE_VAR_DIR") or PROJECT_ROOT / "var").resolve()


# How far the installation meets BITV 2.0, as its accessibility statement says.
ACCESSIBILITY_COMPLIANCE = ("full", "partial", "none")


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Everything a process may be configured with; defaults suit local development."""

    database_url: str = f"sqlite:///{VAR_DIR / 'seminare.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # "maildir:<path>" writes mails into a Maildir; "smtp://", "smtp+starttls://"
    # or "smtps://" (with optional user:password@) sends them to an SMTP server.
    mail_url: str = f"maildir:{VAR_DIR / 'mail'}"
    mail_from: str = "Seminare <noreply@seminare.localhost>"
    secret_key: str = ""
    registration_base_url: str = "http://127.0.0.1:8000"
    calendar_base_url: str = "http://127.0.0.1:8001"
    default_timezone: str = "Europe/Berlin"
    # Seconds a notification may sit un-enqueued or in "sending" before the
    # scheduler's sweep hands it to the queue again.
    sweep_after_seconds: int = 120
    # Attempts after which a notification that keeps failing temporarily is
    # given up and marked failed, visible to the organiser.
    mail_max_attempts: int = 12
    # Hours an unconfirmed (double opt-in) registration holds its seat.
    pending_expiry_hours: int = 24
    # Registration posts allowed per client IP and per email address ("" turns one off).
    rate_limit_per_ip: str = "30/minute;300/hour"
    rate_limit_per_email: str = "10/hour"
    # Days a cancelled seminar stays in the feeds, marked cancelled, so that
    # calendar apps learn of it before it disappears.
    feed_keep_cancelled_days: int = 30
    # Seconds a cached feed is served at most without being rebuilt, in case a
    # change could not announce itself (Redis was away at that moment).
    feed_cache_seconds: int = 600
    # Seconds a public seminar answer (what embedded forms load) is reused by a
    # process; changes to seminars show at once, seats left within this time.
    public_cache_seconds: int = 2
    # A server-rendered registration form posted sooner than this after it was
    # shown came from a bot (people need a few seconds); one older than the
    # maximum age is refused as expired.
    form_min_fill_seconds: int = 2
    form_max_age_seconds: int = 24 * 3600
    # Hours an organiser's login session lasts.
    session_hours: int = 12
    # Reverse proxies in front of the web services that add X-Forwarded-For, -Proto
    # and -Host (0: none; such headers are then ignored, as anybody can send them).
    trusted_proxies: int = 0
    # Webhooks may go to http:// and to private and loopback addresses (the dev stack's own receiver).
    webhook_allow_private: bool = False
    # Seconds a webhook receiver may take to answer.
    webhook_timeout_seconds: float = 5.0
    # Days the delivery log of webhooks is kept.
    webhook_log_days: int = 30
    # Seconds between two rounds of the scheduler.
    scheduler_interval_seconds: float = 60.0
    # Who runs this installation: named on the accessibility statement and the
    # Leichte Sprache page, with the address people write to about barriers.
    operator_name: str = "Seminare"
    operator_email: str = "barrierefreiheit@seminare.localhost"
    # Postal address, lines separated by ";" (an environment variable holds one line).
    operator_address: str = ""
    # The operator's own Impressum and privacy policy, linked on pages of no single organiser.
    operator_imprint_url: str = ""
    operator_privacy_url: str = ""
    # The accessibility statement (BITV 2.0): "full", "partial" or "none", the
    # day it was made, and optionally the operator's own list of known limitations
    # (UTF-8 text, paragraphs at blank lines, "- " lines a list; a second file in English).
    accessibility_compliance: str = "partial"
    accessibility_statement_date: date = date(2026, 12, 5)
    accessibility_limitations_file: str = ""
    accessibility_limitations_file_en: str = ""
    # Where people turn when the operator's answer does not help (the federal
    # conciliation body by default; a Land's own body for a Land's installation).
    enforcement_body_name: str = "Schlichtungsstelle nach § 16 Behindertengleichstellungsgesetz (BGG)"
    enforcement_body_address: str = ("bei dem Beauftragten der Bundesregierung für die Belange von Menschen "
                                     "mit Behinderungen; Mauerstraße 53; 10117 Berlin")
    enforcement_body_email: str = "info@schlichtungsstelle-bgg.de"
    enforcement_body_url: str = "https://www.schlichtungsstelle-bgg.de"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from environment variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        defaults = cls()
        settings = cls(
            database_url=env.get("DATABASE_URL", defaults.database_url),
            redis_url=env.get("REDIS_URL", defaults.redis_url),
            mail_url=env.get("MAIL_URL", defaults.mail_url),
            mail_from=env.get("MAIL_FROM", defaults.mail_from),
            secret_key=env.get("SECRET_KEY", ""),
            registration_base_url=env.get(
                "REGISTRATION_BASE_URL", defaults.registration_base_url
            ).rstrip("/"),
            calendar_base_url=env.get("CALENDAR_BASE_URL", defaults.calendar_base_url).rstrip("/"),
            default_timezone=env.get("DEFAULT_TIMEZONE", defaults.default_timezone),
            sweep_after_seconds=_int(env, "SWEEP_AFTER_SECONDS", defaults.sweep_after_seconds),
            mail_max_attempts=_int(env, "MAIL_MAX_ATTEMPTS", defaults.mail_max_attempts),
            pending_expiry_hours=_int(env, "PENDING_EXPIRY_HOURS", defaults.pending_expiry_hours),
            rate_limit_per_ip=env.get("RATE_LIMIT_PER_IP", defaults.rate_limit_per_ip),
            rate_limit_per_email=env.get("RATE_LIMIT_PER_EMAIL", defaults.rate_limit_per_email),
            feed_keep_cancelled_days=_int(env, "FEED_KEEP_CANCELLED_DAYS", defaults.feed_keep_cancelled_days),
            feed_cache_seconds=_int(env, "FEED_CACHE_SECONDS", defaults.feed_cache_seconds),
            public_cache_seconds=_int(env, "PUBLIC_CACHE_SECONDS", defaults.public_cache_seconds),
            form_min_fill_seconds=_int(env, "FORM_MIN_FILL_SECONDS", defaults.form_min_fill_seconds),
            form_max_age_seconds=_int(env, "FORM_MAX_AGE_SECONDS", defaults.form_max_age_seconds),
            session_hours=_int(env, "SESSION_HOURS", defaults.session_hours),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", defaults.trusted_proxies),
            webhook_allow_private=_flag(env, "WEBHOOK_ALLOW_PRIVATE", defaults.webhook_allow_private),
            webhook_timeout_seconds=_number(env, "WEBHOOK_TIMEOUT_SECONDS", defaults.webhook_timeout_seconds),
            webhook_log_days=_int(env, "WEBHOOK_LOG_DAYS", defaults.webhook_log_days),
            scheduler_interval_seconds=_number(env, "SCHEDULER_INTERVAL_SECONDS", defaults.scheduler_interval_seconds),
            operator_name=env.get("OPERATOR_NAME") or defaults.operator_name,
            operator_email=env.get("OPERATOR_EMAIL") or defaults.operator_email,
            operator_address=env.get("OPERATOR_ADDRESS", defaults.operator_address),
            operator_imprint_url=env.get("OPERATOR_IMPRINT_URL", defaults.operator_imprint_url),
            operator_privacy_url=env.get("OPERATOR_PRIVACY_URL", defaults.operator_privacy_url),
            accessibility_compliance=(env.get("ACCESSIBILITY_COMPLIANCE") or defaults.accessibility_compliance).lower(),
            accessibility_statement_date=_date(env, "ACCESSIBILITY_STATEMENT_DATE",
                                               defaults.accessibility_statement_date),
            accessibility_limitations_file=env.get("ACCESSIBILITY_LIMITATIONS_FILE", ""),
            accessibility_limitations_file_en=env.get("ACCESSIBILITY_LIMITATIONS_FILE_EN", ""),
            **_enforcement_body(env, defaults),
        )
        settings.check()
        return settings

    def with_overrides(self, **overrides) -> "Settings":
        """Return a copy with some values replaced (used by tests and app factories)."""
        return replace(self, **overrides)

    def check(self) -> None:
        """Refuse to run with settings that cannot work."""
        if not self.secret_key:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        if len(self.secret_key) < 16:
            raise ConfigError("SECRET_KEY is too short; use at least 16 characters.")
        scheme = self.mail_url.split(":", 1)[0]
        if scheme not in {"maildir", "smtp", "smtps", "smtp+starttls"}:
            raise ConfigError(f"MAIL_URL has an unknown scheme {scheme!r}.")
        if self.accessibility_compliance not in ACCESSIBILITY_COMPLIANCE:
            raise ConfigError("ACCESSIBILITY_COMPLIANCE must be full, partial or none, "
                              f"not {self.accessibility_compliance!r}.")
        for name in ("OPERATOR_IMPRINT_URL", "OPERATOR_PRIVACY_URL", "ENFORCEMENT_BODY_URL"):
            value = getattr(self, name.lower())
            if value and urlsplit(value).scheme not in ("http", "https"):
                raise ConfigError(f"{name} must be an http:// or https:// address, not {value!r}.")

    @property
    def public_host(self) -> str:
        """Host name used in calendar UIDs and Message-IDs."""
        return urlsplit(self.registration_base_url).hostname or "localhost"


def _flag(env, name: str, default: bool) -> bool:
    """A yes or no from the environment: 1/true/yes/on or 0/false/no/off; the default when unset or empty."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), not {raw!r}.")


def _enforcement_body(env, defaults: Settings) -> dict[str, str]:
    """The enforcement body's name and contact; another body's name brings none of the default body's contact."""
    own = bool(env.get("ENFORCEMENT_BODY_NAME"))
    body = {"enforcement_body_name": env.get("ENFORCEMENT_BODY_NAME") or defaults.enforcement_body_name}
    for field in ("address", "email", "url"):
        name = f"enforcement_body_{field}"
        body[name] = env.get(name.upper(), "" if own else getattr(defaults, name))
    return body


def _date(env, name: str, default: date) -> date:
    """A calendar day (YYYY-MM-DD) from the environment; the default when it is unset or empty."""
    return _parsed(env, name, default, date.fromisoformat, "a date like 2026-12-05")


def _int(env, name: str, default: int) -> int:
    """A whole number from the environment; the default when it is unset or empty."""
    return _parsed(env, name, default, int, "a whole number")


def _number(env, name: str, default: float) -> float:
    """A number (fractions allowed) from the environment; the default when it is unset or empty."""
    return _parsed(env, name, default, float, "a number")


def _parsed(env, name: str, default, parse, what: str):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, not {raw!r}.") from exc
