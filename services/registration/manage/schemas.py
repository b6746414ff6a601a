"""Marshmallow schemas of the organiser API (/api/v1/manage); they also generate its OpenAPI part."""

from __future__ import annotations

from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.i18n import LANGUAGES
from shared.models import (
    MAX_ID,
    NotificationKind,
    NotificationStatus,
    QuestionKind,
    RegistrationStatus,
    Role,
    SeminarFormat,
    SeminarStatus,
    WebhookDeliveryStatus,
    WebhookEvent,
)
from services.registration.domain.refusals import DateOutOfRange
from services.registration.domain.seminar_copies import MOST_REPEATS
from services.registration.domain.seminar_times import span_problem
from services.registration.web.origins import ORIGIN_SHAPE
from services.registration.web.schema_fields import CODES, Input, QuestionOption, flag, moment, required_text, text

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="invalid_slug")
ORIGIN = validate.Regexp(ORIGIN_SHAPE, error="invalid_origin")
URL = validate.URL(require_tld=False, schemes={"http", "https"}, error="invalid_url")
_ZONES = frozenset(available_timezones())


def _enum(enum_class, **kwargs) -> fields.Enum:
    return fields.Enum(enum_class, by_value=True, error_messages={**CODES, "unknown": "invalid_choice"}, **kwargs)


class QuestionInput(Input):
    """A question the form asks; its key names the answer in registrations and exports."""

    key = required_text(64, also=[validate.Regexp(r"^[a-z][a-z0-9_]*$", error="invalid_key")])
    kind = _enum(QuestionKind, required=True)
    label_de = required_text(300)
    label_en = required_text(300)
    required = flag(load_default=False)
    options = fields.List(fields.Nested(QuestionOption), load_default=list, validate=validate.Length(max=50, error="too_long"))

    @validates_schema
    def _choices_have_options(self, data, **_kwargs) -> None:
        choice = data.get("kind") in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
        if choice and not data.get("options"):
            raise ValidationError("options_required", "options")
        values = [option["value"] for option in data.get("options") or []]
        if len(set(values)) != len(values):
            raise ValidationError("duplicate_value", "options")


class SeminarInput(Input):
    """A seminar's texts, time, place and registration rules."""

    title = required_text(200)
    description = text(20000, load_default="")
    series_id = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_ID, error="out_of_range"), error_messages=CODES)
    format = _enum(SeminarFormat, load_default=SeminarFormat.ONLINE)
    location = text(500, allow_none=True, load_default=None)
    join_url = fields.String(allow_none=True, load_default=None, validate=URL, error_messages=CODES,
                             metadata={"description": "Sent only to confirmed participants; never public"})
    timezone = fields.String(load_default="Europe/Berlin", error_messages=CODES)
    language = fields.String(load_default="de", validate=validate.OneOf(LANGUAGES, error="invalid_choice"))
    starts_at = moment(required=True)
    ends_at = moment(required=True)
    capacity = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(0, 100000, error="out_of_range"),
                              error_messages=CODES, metadata={"description": "Seats; null means unlimited"})
    waitlist_enabled = flag(load_default=True)
    double_opt_in = flag(load_default=True)
    registration_opens_at = moment(allow_none=True, load_default=None)
    registration_closes_at = moment(allow_none=True, load_default=None,
                                       metadata={"description": "null: registration closes at the start"})
    reminder_offsets = fields.List(
        fields.Integer(validate=validate.Range(1, 60 * 24 * 60, error="out_of_range")), load_default=lambda: [24 * 60, 60],
        validate=validate.Length(max=5, error="too_long"), metadata={"description": "Minutes before the start a reminder goes out"},
    )
    questions = fields.List(fields.Nested(QuestionInput), load_default=list, validate=validate.Length(max=30, error="too_long"))
    retention_days = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(1, 3650, error="out_of_range"), error_messages=CODES,
        metadata={"description": "Days after the end until registrations are anonymised; null: the organiser's setting"},
    )
    publish = flag(load_default=False, load_only=True,
                             metadata={"description": "Publish at once instead of keeping a draft"})

    @validates("timezone")
    def _known_zone(self, value: str, **_kwargs) -> None:
        if value not in _ZONES:
            raise ValidationError("invalid_timezone")

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data, partial=None, **_kwargs) -> None:
        errors = {}
        problem = span_problem(data.get("starts_at"), data.get("ends_at"))
        if problem is not None and problem is not DateOutOfRange:  # a date out of range is its field's error
            errors["ends_at"] = [problem.code]
        keys = [question.get("key") for question in data.get("questions") or []]
        if len(keys) != len(set(keys)):
            errors["questions"] = ["duplicate_key"]
        if errors:
            raise ValidationError(errors)


class SeminarPatch(SeminarInput):
    """Fields of a seminar to change (all optional; loaded with ``partial=True``)."""


def participant_message():
    """The organiser's optional words in the mail participants get about a change (at most 2,000 characters)."""
    return text(2000, load_default="", metadata={
        "description": "Added to the participants' mail, e.g. why; paragraphs separated by blank lines."})


class SeminarMove(Input):
    """A new time, place or join link; participants are told, with the organiser's message."""

    starts_at = moment()
    ends_at = moment()
    location = text(500, allow_none=True)
    join_url = fields.String(allow_none=True, validate=URL, error_messages=CODES)
    message = participant_message()


class SeminarRepeat(Input):
    """Drafts like a seminar on repeating dates after it, at its local time of day."""

    every = fields.String(required=True, validate=validate.OneOf(["week", "month"], error="invalid_choice"),
                          error_messages=CODES, metadata={"description": "``week``: every ``interval`` weeks; "
                                                          "``month``: monthly on the same weekday of the month"})
    count = fields.Integer(required=True, validate=validate.Range(1, MOST_REPEATS, error="out_of_range"),
                           error_messages=CODES, metadata={"description": "How many dates after the seminar"})
    interval = fields.Integer(load_default=1, validate=validate.Range(1, 4, error="out_of_range"),
                              error_messages=CODES, metadata={"description": "Weeks between dates (weekly only)"})
    week_of_month = fields.Integer(
        load_default=None, allow_none=True, validate=validate.OneOf([1, 2, 3, 4, 5, -1], error="invalid_choice"),
        error_messages=CODES,
        metadata={"description": "Monthly only: the n-th weekday (1-5) or the last (-1); default: the seminar's own"})


class RepeatedDate(Schema):
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class RepeatPreview(Schema):
    """The dates a repetition would create, nothing created yet."""

    dates = fields.List(fields.Nested(RepeatedDate))


class ParticipantNotice(Input):
    """Cancelling a registration or a seminar (the body may be left out)."""

    message = participant_message()


class SeriesInput(Input):
    slug = required_text(80, also=[SLUG])
    title = required_text(200)
    description = text(20000, load_default="")


class SeriesPatch(SeriesInput):
    """Fields of a series to change (loaded with ``partial=True``)."""


class SeriesOutput(Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    feed_url = fields.String()


class CountsOutput(Schema):
    confirmed = fields.Integer()
    pending = fields.Integer()
    waitlisted = fields.Integer()
    cancelled = fields.Integer()


class QuestionOutput(Schema):
    key = fields.String()
    kind = fields.Enum(QuestionKind, by_value=True)
    label_de = fields.String()
    label_en = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.Nested(QuestionOption))


class SeminarOutput(Schema):
    """A seminar as its organiser sees it, join link included."""

    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    status = fields.Enum(SeminarStatus, by_value=True)
    series_id = fields.Integer(allow_none=True)
    format = fields.Enum(SeminarFormat, by_value=True)
    location = fields.String(allow_none=True)
    join_url = fields.String(allow_none=True)
    timezone = fields.String()
    language = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer(allow_none=True)
    seats_taken = fields.Integer()
    waitlist_enabled = fields.Boolean()
    double_opt_in = fields.Boolean()
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    reminder_offsets = fields.List(fields.Integer())
    retention_days = fields.Integer(allow_none=True)
    sequence = fields.Integer()
    questions = fields.List(fields.Nested(QuestionOutput))
    counts = fields.Nested(CountsOutput)
    public_url = fields.String()
    feed_url = fields.String()
    anonymise_after = fields.Date(metadata={"description": "The day its registrations are anonymised"})


class SeminarList(Schema):
    series_id = fields.Integer(validate=validate.Range(1, MAX_ID, error="out_of_range"), error_messages=CODES)


class RegistrationQuery(Input):
    status = fields.List(_enum(RegistrationStatus), load_default=list,
                         metadata={"description": "Repeat to allow several statuses"})
    q = text(200, load_default=None, metadata={"description": "Part of the name or email address"})
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 5000, error="out_of_range"), error_messages=CODES)
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9, error="out_of_range"), error_messages=CODES)


class NotificationOutput(Schema):
    id = fields.Integer()
    kind = fields.Enum(NotificationKind, by_value=True)
    status = fields.Enum(NotificationStatus, by_value=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={"description": "Why the last attempt failed"})
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


class RegistrationOutput(Schema):
    id = fields.Integer()
    seminar_id = fields.Integer()
    status = fields.Enum(RegistrationStatus, by_value=True)
    name = fields.String()
    email = fields.String()
    language = fields.String()
    answers = fields.Dict()
    source_page = fields.String(allow_none=True)
    consent_version = fields.String()
    consent_at = fields.AwareDateTime()
    created_at = fields.AwareDateTime()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    email_confirmed_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    notifications = fields.List(fields.Nested(NotificationOutput))


class RegistrationPage(Schema):
    total = fields.Integer()
    registrations = fields.List(fields.Nested(RegistrationOutput))


class ExportQuery(Input):
    status = fields.List(_enum(RegistrationStatus), load_default=list)
    delimiter = fields.String(load_default=";", validate=validate.OneOf([";", ","], error="invalid_choice"))
    lang = fields.String(load_default="de", validate=validate.OneOf(LANGUAGES, error="invalid_choice"))


class OrganiserOutput(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    contact_email = fields.String()
    website_url = fields.String(allow_none=True)
    privacy_policy_url = fields.String()
    imprint_url = fields.String(allow_none=True)
    allowed_origins = fields.List(fields.String())
    retention_days = fields.Integer()
    retention_days_cancelled = fields.Integer()
    feed_url = fields.String()


class OrganiserInput(Input):
    """What an organiser's admins may change about it."""

    name = required_text(200)
    contact_email = fields.Email(error_messages={**CODES, "invalid": "invalid_email"})
    website_url = fields.String(allow_none=True, validate=URL, error_messages=CODES)
    privacy_policy_url = fields.String(validate=URL, error_messages=CODES)
    imprint_url = fields.String(allow_none=True, validate=URL, error_messages=CODES,
                                metadata={"description": "The organiser's Impressum, linked on its pages and mails"})
    allowed_origins = fields.List(fields.String(validate=ORIGIN), validate=validate.Length(max=50, error="too_long"),
                                  metadata={"description": "Partner sites allowed to embed the forms"})
    retention_days = fields.Integer(validate=validate.Range(1, 3650, error="out_of_range"), error_messages=CODES)
    retention_days_cancelled = fields.Integer(
        validate=validate.Range(1, 3650, error="out_of_range"), error_messages=CODES,
        metadata={"description": "Days cancelled and expired registrations are kept"},
    )


class TokenInput(Input):
    name = required_text(100)
    role = _enum(Role, load_default=Role.EDITOR)


class AuditQuery(Input):
    """Which page of the audit log."""

    before = fields.Integer(validate=validate.Range(1, MAX_ID, error="out_of_range"), error_messages=CODES,
                            metadata={"description": "Entries older than this entry's id (the next page)"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000, error="out_of_range"),
                           error_messages=CODES)


class AuditOutput(Schema):
    id = fields.Integer()
    created_at = fields.AwareDateTime()
    actor = fields.String()
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.Integer(allow_none=True)
    details = fields.Dict()


class PersonQuery(Input):
    """Whose data to report."""

    email = fields.Email(required=True, error_messages={**CODES, "invalid": "invalid_email"})
    download = fields.Boolean(load_default=False, error_messages=CODES,
                              metadata={"description": "Answer as a file to save (Content-Disposition: attachment)"})


class PersonErase(Input):
    """Whose registrations to anonymise."""

    email = fields.Email(required=True, error_messages={**CODES, "invalid": "invalid_email"})


class PersonSeminar(Schema):
    id = fields.Integer()
    title = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


class PersonRegistration(RegistrationOutput):
    """A registration of the person with its seminar, answers, consent proof and mails."""

    seminar = fields.Nested(PersonSeminar)


class PersonReport(Schema):
    """Everything one organiser stores about an address (Art. 15 DSGVO)."""

    email = fields.String()
    organiser = fields.String()
    created_at = fields.AwareDateTime()
    registrations = fields.List(fields.Nested(PersonRegistration))


class ErasureOutput(Schema):
    registrations = fields.Integer(metadata={"description": "How many registrations were anonymised"})


WEBHOOK_EVENTS = [event.value for event in WebhookEvent if event != WebhookEvent.TEST]


class WebhookInput(Input):
    """A partner system's endpoint: where events go and which."""

    url = required_text(1000, also=[validate.URL(require_tld=False, schemes={"http", "https"}, error="invalid_url")],
                        metadata={"description": "https, on a public address (private ones only with WEBHOOK_ALLOW_PRIVATE)"})
    events = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENTS, error="invalid_choice")),
                         required=True, validate=validate.Length(min=1, max=len(WEBHOOK_EVENTS), error="choose_one"),
                         metadata={"description": "Event types to receive: " + ", ".join(WEBHOOK_EVENTS)})
    description = text(300, load_default="")


class WebhookPatch(WebhookInput):
    """Fields of an endpoint to change (loaded with ``partial=True``); ``enabled: true`` turns it on again."""

    enabled = flag()


class WebhookOutput(Schema):
    """An endpoint as its organiser sees it; the secret only when it is made (create, rotate)."""

    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    enabled = fields.Boolean(metadata={"description": "False once disabled (by hand, or after three days of failures)"})
    disabled_at = fields.AwareDateTime(allow_none=True)
    failing_since = fields.AwareDateTime(allow_none=True)
    previous_secret_until = fields.AwareDateTime(allow_none=True,
                                                 metadata={"description": "Until then the old secret signs too"})
    created_at = fields.AwareDateTime()


class WebhookCreated(WebhookOutput):
    secret = fields.String(metadata={"description": "whsec_…: verify signatures with it; shown only now"})


class WebhookSecret(Schema):
    secret = fields.String(metadata={"description": "The new whsec_… secret; shown only now"})


class WebhookDeliveryOutput(Schema):
    """One event for the endpoint: what became of it."""

    id = fields.Integer()
    event_id = fields.String(metadata={"description": "The webhook-id header, the same on every attempt"})
    event_type = fields.String()
    status = fields.Enum(WebhookDeliveryStatus, by_value=True)
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_response = fields.String(allow_none=True, metadata={"description": "The start of the answer, or the error"})
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)


class WebhookPayload(Schema):
    """The body of every webhook POST, signed as Standard Webhooks describes (webhook-id, -timestamp, -signature)."""

    type = fields.String(metadata={"enum": WEBHOOK_EVENTS + [WebhookEvent.TEST.value]})
    timestamp = fields.String(metadata={"format": "date-time", "description": "When the event happened (UTC)"})
    version = fields.Integer(metadata={"description": "The payload's shape; 1"})
    data = fields.Dict(metadata={"description": (
        "registration.*: {registration: {id, seminar_id, status, name, email, language, answers, created_at, "
        "confirmed_at, email_confirmed_at, cancelled_at}, seminar: {...}}; seminar.*: {seminar: {id, organiser_id, "
        "title, status, format, location, timezone, starts_at, ends_at, capacity, seats_taken, sequence, series, url}"
        "} (seminar.changed also names what changed); webhook.test: {endpoint: {id, url}}")})


class WebhookTestOutput(Schema):
    delivery_id = fields.Integer()
    payload = fields.Nested(WebhookPayload)
