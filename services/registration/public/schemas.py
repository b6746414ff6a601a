"""Marshmallow schemas of the public registration API (they also generate the OpenAPI spec)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from marshmallow import Schema, ValidationError, fields, validate, validates

from shared.i18n import LANGUAGES
from shared.models import RegistrationStatus, SeminarFormat
from services.registration.web.schema_fields import CODES, Input, QuestionOption, flag, moment, required_text, text


class RegistrationInput(Input):
    """What a participant sends to register for a seminar."""

    name = required_text(200, metadata={"description": "Full name, stored as given"})
    email = fields.String(
        required=True,
        validate=validate.Length(max=254, error="too_long"),
        error_messages=CODES,
        metadata={"format": "email"},
    )
    consent = flag(
        required=True,
        metadata={"description": "Agreement to the organiser's privacy policy; must be true",
                  "enum": [True]},
    )
    language = fields.String(
        load_default="de",
        validate=validate.OneOf(LANGUAGES, error="invalid_choice"),
        error_messages=CODES,
        metadata={"description": "Language of the mails: de (default) or en"},
    )
    answers = fields.Dict(
        keys=fields.String(), load_default=dict, error_messages=CODES,
        metadata={"description": "Answers to the seminar's questions (see the seminar's "
                                 "`questions`), keyed by question key"},
    )
    source_page = text(500, load_default=None, allow_none=True,
                        metadata={"description": "Page the form was embedded in"})

    @validates("name")
    def _name_not_blank(self, value: str, **_kwargs) -> None:
        if not value.strip():
            raise ValidationError("blank")

    @validates("email")
    def _email_is_valid(self, value: str, **_kwargs) -> None:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError("invalid_email") from exc

    @validates("consent")
    def _consent_given(self, value: bool, **_kwargs) -> None:
        if value is not True:
            raise ValidationError("consent_required")


class RegistrationAnswer(Schema):
    """The answer to a registration; the same for a first and a repeated attempt."""

    status = fields.Enum(RegistrationStatus, by_value=True, required=True)
    seminar_id = fields.Integer(required=True)


class SeriesRef(Schema):
    slug = fields.String()
    title = fields.String()


class OrganiserRef(Schema):
    slug = fields.String()
    name = fields.String()
    privacy_policy_url = fields.String()


class RegistrationWindow(Schema):
    open = fields.Boolean(metadata={"description": "Whether registration is possible now"})
    reason = fields.String(allow_none=True, metadata={"description": "Problem code when closed"})
    waiting_list = fields.Boolean(metadata={"description": "Open, but no seat left: a registration goes onto the waiting list"})
    opens_at = fields.AwareDateTime(allow_none=True)
    closes_at = fields.AwareDateTime()


class QuestionPublic(Schema):
    """A question the form asks; answers go into ``answers`` under its key."""

    key = fields.String()
    kind = fields.String(metadata={"enum": ["short_text", "long_text", "single_choice",
                                            "multiple_choice", "checkbox"]})
    label_de = fields.String()
    label_en = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.Nested(QuestionOption))


class SeminarPublic(Schema):
    """A seminar as anyone may see it (never the join link)."""

    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    format = fields.Enum(SeminarFormat, by_value=True)
    location = fields.String(allow_none=True)
    timezone = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer(allow_none=True)
    seats_left = fields.Integer(allow_none=True)
    waitlist_enabled = fields.Boolean()
    double_opt_in = fields.Boolean()
    registration = fields.Nested(RegistrationWindow)
    questions = fields.List(fields.Nested(QuestionPublic))
    series = fields.Nested(SeriesRef, allow_none=True)
    organiser = fields.Nested(OrganiserRef)
    url = fields.String(metadata={"description": "Public page with the registration form"})


class SeminarQuery(Input):
    """Filters of the public seminar list."""

    series = fields.String(metadata={"description": "Series slug"})
    organiser = fields.String(metadata={"description": "Organiser slug"})
    from_ = moment(data_key="from", metadata={"description": "Only seminars ending after this instant"})
    to = moment(metadata={"description": "Only seminars starting before this instant"})
