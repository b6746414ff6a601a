"""The data model: organisers, series, seminars, questions, registrations, notifications.

Times are stored in UTC; a seminar names the zone it is shown in.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.times import UTC, as_utc, utcnow

DEFAULT_REMINDER_OFFSETS = [24 * 60, 60]  # minutes before the start

# Stable constraint names so that Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # A VARCHAR with a CHECK constraint: the same on both databases, easy to migrate.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
    )


class SeminarStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


# Seminars the public sees: a cancelled one stays visible, marked cancelled; a draft does not.
PUBLIC_STATUSES = (SeminarStatus.PUBLISHED, SeminarStatus.CANCELLED)


class SeminarFormat(str, enum.Enum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    HYBRID = "hybrid"


class QuestionKind(str, enum.Enum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    CHECKBOX = "checkbox"


class RegistrationStatus(str, enum.Enum):
    PENDING = "pending"          # holds a seat until the address is confirmed
    CONFIRMED = "confirmed"      # holds a seat
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"          # pending for too long; the seat was released


SEAT_HOLDING = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED)
# Registrations of people who may still come (holding a seat or waiting for one).
ACTIVE = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
# Ids are 32-bit integers on PostgreSQL; a larger id in a URL names nothing.
MAX_ID = 2**31 - 1


def is_row_id(number: int) -> bool:
    """Whether a number can name a row at all (a larger one would be an error on PostgreSQL, not a miss)."""
    return 0 < number <= MAX_ID


class NotificationKind(str, enum.Enum):
    CONFIRM_ADDRESS = "confirm_address"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PROMOTED = "promoted"
    REMINDER = "reminder"
    CHANGED = "changed"
    SEMINAR_CANCELLED = "seminar_cancelled"
    CANCELLATION_RECEIPT = "cancellation_receipt"
    ALREADY_REGISTERED = "already_registered"


class NotificationStatus(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"        # a temporary failure; will be tried again
    FAILED = "failed"      # permanent failure; shown to the organiser
    CANCELLED = "cancelled"  # no longer needed (e.g. the registration was erased)


CLAIMABLE = (NotificationStatus.QUEUED, NotificationStatus.RETRY)


def new_nonce() -> str:
    """Random part of a signed token; replacing it revokes every token issued before."""
    return secrets.token_urlsafe(16)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Organiser(Timestamps, Base):
    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    website_url: Mapped[Optional[str]] = mapped_column(String(500))
    privacy_policy_url: Mapped[str] = mapped_column(String(500))
    # The organiser's Impressum, linked beside the privacy policy on its pages and in its mails.
    imprint_url: Mapped[Optional[str]] = mapped_column(String(500))
    # Partner origins (scheme://host[:port]) allowed to embed this organiser's forms.
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    # Cancelled and expired registrations are kept only this many days after the fact.
    retention_days_cancelled: Mapped[int] = mapped_column(Integer, default=7)

    series: Mapped[list["Series"]] = relationship(back_populates="organiser")
    seminars: Mapped[list["Seminar"]] = relationship(back_populates="organiser")


class Series(Timestamps, Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    organiser: Mapped[Organiser] = relationship(back_populates="series")
    seminars: Mapped[list["Seminar"]] = relationship(back_populates="series")


class Seminar(Timestamps, Base):
    __tablename__ = "seminars"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("seats_taken >= 0", name="seats_taken_not_negative"),
        Index("ix_seminars_status_starts_at", "status", "starts_at"),
        # SQLite: a deleted seminar's id (its calendar UID, its feed address) never comes back (migration 0009).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[Optional[int]] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SeminarStatus] = mapped_column(_enum(SeminarStatus, "seminar_status"), default=SeminarStatus.DRAFT)
    format: Mapped[SeminarFormat] = mapped_column(_enum(SeminarFormat, "seminar_format"), default=SeminarFormat.ONLINE)
    location: Mapped[Optional[str]] = mapped_column(String(500))
    # Sent only to confirmed participants; never part of a public answer or feed.
    join_url: Mapped[Optional[str]] = mapped_column(String(1000))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    language: Mapped[str] = mapped_column(String(2), default="de")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # NULL capacity means unlimited seats.
    capacity: Mapped[Optional[int]] = mapped_column(Integer)
    # Pending plus confirmed registrations; changed only by conditional UPDATEs.
    # On PostgreSQL the table keeps room on its pages for these updates (migration 0005).
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    waitlist_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    registration_opens_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # NULL means registration closes when the seminar starts.
    registration_closes_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    reminder_offsets: Mapped[list[int]] = mapped_column(JSON, default=lambda: list(DEFAULT_REMINDER_OFFSETS))
    # RFC 5545 SEQUENCE: rises whenever time, place or status change.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Days after the end until its registrations are anonymised; NULL: the organiser's setting.
    retention_days: Mapped[Optional[int]] = mapped_column(Integer)

    organiser: Mapped[Organiser] = relationship(back_populates="seminars")
    series: Mapped[Optional[Series]] = relationship(back_populates="seminars")
    questions: Mapped[list["Question"]] = relationship(
        back_populates="seminar", order_by="Question.position", cascade="all, delete-orphan"
    )
    registrations: Mapped[list["Registration"]] = relationship(back_populates="seminar")

    @property
    def seats_left(self) -> Optional[int]:
        """Free seats, or None when the seminar has no limit."""
        if self.capacity is None:
            return None
        return max(self.capacity - self.seats_taken, 0)

    @property
    def closes_at(self) -> datetime:
        """When registration closes: the set time, or else the start."""
        return self.registration_closes_at or self.starts_at


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("seminar_id", "key", name="uq_questions_seminar_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminars.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind, "question_kind"))
    label_de: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # For choices: [{"value": "...", "label_de": "...", "label_en": "..."}].
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    seminar: Mapped[Seminar] = relationship(back_populates="questions")


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        # One registration per address and seminar; a second attempt finds this row.
        UniqueConstraint("seminar_id", "email_key", name="uq_registrations_seminar_email"),
        Index("ix_registrations_seminar_status_created", "seminar_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminars.id", ondelete="CASCADE"))
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus, "registration_status"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased address used to recognise the same person registering twice.
    email_key: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="de")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_version: Mapped[str] = mapped_column(String(64))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_page: Mapped[Optional[str]] = mapped_column(String(500))
    token_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    # Nonce of the personal calendar feed's token; replaced to revoke the feed link.
    feed_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the registration got its seat for good (confirmed or promoted).
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # When the participant proved the address is theirs (double opt-in); consent proof.
    email_confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Unconfirmed registrations (pending, or waitlisted with double opt-in) lapse then.
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    seminar: Mapped[Seminar] = relationship(back_populates="registrations")
    notifications: Mapped[list["Notification"]] = relationship(back_populates="registration")


class Notification(Base):
    """One mail to send, written in the same transaction as the change that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # A mail of one kind goes to a registration once; reminders and change mails
        # carry a dedupe key (the offset, the seminar's sequence) to allow several.
        UniqueConstraint("registration_id", "kind", "dedupe_key", name="uq_notifications_once"),
        Index("ix_notifications_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, "notification_kind"))
    dedupe_key: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[NotificationStatus] = mapped_column(
        _enum(NotificationStatus, "notification_status"), default=NotificationStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(String(1000))
    message_id: Mapped[Optional[str]] = mapped_column(String(300))
    # What the mail tells that the rows no longer show when it is sent: who cancelled,
    # whether the seat went on, the organiser's message (see ``shared.outbox.add_notification``).
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the id is in the queue; the scheduler's sweep looks for rows without it.
    enqueued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship(back_populates="notifications")


class Role(str, enum.Enum):
    """What a person or an API token may do for an organiser; each role includes the ones below."""

    VIEWER = "viewer"    # sees seminars and attendees, exports lists
    EDITOR = "editor"    # also creates, changes, moves and cancels seminars and registrations
    ADMIN = "admin"      # also manages people, API tokens, settings, and reads the audit log

    @property
    def rank(self) -> int:
        return _ROLE_RANKS[self]

    def allows(self, needed: "Role") -> bool:
        """Whether this role may do what ``needed`` may do."""
        return self.rank >= needed.rank


_ROLE_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


class Account(Timestamps, Base):
    """A person who logs in to the organiser pages."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased; the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    disabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="account", cascade="all, delete-orphan")


class AccountSession(Base):
    """A login to the organiser pages: the cookie carries its secret, the row says it still holds.

    Ending a session deletes its row, so a copy of the cookie is worth nothing from
    then on (logout, a new password, "end all sessions").
    """

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the secret in the cookie: a copy of the database logs nobody in.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Membership(Base):
    """An account's role for one organiser."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("account_id", "organiser_id", name="uq_memberships_account_organiser"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))

    account: Mapped[Account] = relationship(back_populates="memberships")
    organiser: Mapped[Organiser] = relationship()


class ApiToken(Base):
    """A bearer token for /api/v1/manage, scoped to one organiser; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # SHA-256 of the whole token: tokens are long random strings, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, shown in lists so that people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what to an organiser's seminars and data, and when; read by its admins."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_organiser_created", "organiser_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"))
    # Who: an account or an API token, with a label that survives their deletion.
    account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    api_token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    # What: "seminar", "series", "registration", "token", ...
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[Optional[int]] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffMailKind(str, enum.Enum):
    """What an organiser's admins are told about by mail."""

    WEBHOOK_DISABLED = "webhook_disabled"


class StaffMail(Base):
    """One mail to one of an organiser's admins (not to a participant), written in the transaction of its cause."""

    __tablename__ = "staff_mails"
    __table_args__ = (
        # Once per cause and person: the subject (e.g. the webhook) and a key of the occasion.
        UniqueConstraint("organiser_id", "kind", "subject_id", "dedupe_key", "recipient", name="uq_staff_mails_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[StaffMailKind] = mapped_column(_enum(StaffMailKind, "staff_mail_kind"))
    # The row the mail is about (for webhook_disabled: the webhook endpoint).
    subject_id: Mapped[int] = mapped_column(Integer)
    dedupe_key: Mapped[str] = mapped_column(String(64), default="")
    # The admin's address when the mail was written (the organiser's contact address if it had none).
    recipient: Mapped[str] = mapped_column(String(254))
    status: Mapped[NotificationStatus] = mapped_column(
        _enum(NotificationStatus, "staff_mail_status"), default=NotificationStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class WebhookEvent(str, enum.Enum):
    """What a partner system may hear about (the ``type`` of a webhook's payload)."""

    REGISTRATION_CREATED = "registration.created"
    REGISTRATION_CONFIRMED = "registration.confirmed"
    REGISTRATION_WAITLISTED = "registration.waitlisted"
    REGISTRATION_PROMOTED = "registration.promoted"
    REGISTRATION_CANCELLED = "registration.cancelled"
    SEMINAR_PUBLISHED = "seminar.published"
    SEMINAR_CHANGED = "seminar.changed"
    SEMINAR_CANCELLED = "seminar.cancelled"
    # Sent only by the organiser's "send test event"; no endpoint subscribes to it.
    TEST = "webhook.test"


class WebhookEndpoint(Timestamps, Base):
    """A partner system's URL that hears of an organiser's registrations and seminars, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(String(300), default="")
    # Event types (WebhookEvent values) the endpoint receives.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The signing secret ("whsec_" and base64), kept to sign; shown to the organiser once.
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret signs too, until then: receivers switch without losing events.
    previous_secret: Mapped[Optional[str]] = mapped_column(String(100))
    previous_secret_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Since when every delivery has failed (None: the last one arrived); three days of it disable the endpoint.
    failing_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    disabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    deliveries: Mapped[list["WebhookDelivery"]] = relationship(back_populates="endpoint", cascade="all, delete-orphan")


class WebhookDeliveryStatus(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"          # failed for now; ``next_attempt_at`` says when it goes again
    FAILED = "failed"        # given up: a 4xx answer, the retries spent, or the endpoint disabled


class WebhookDelivery(Base):
    """One event for one endpoint, written in the change's transaction and posted after the commit."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    # The ``webhook-id`` header: the same on every attempt, so receivers can drop a repeat.
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    # The body exactly as signed and sent, every attempt.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        _enum(WebhookDeliveryStatus, "webhook_delivery_status"), default=WebhookDeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[Optional[int]] = mapped_column(Integer)
    # What went wrong, or the start of the receiver's answer, for the organiser's log.
    last_response: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
