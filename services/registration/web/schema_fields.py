"""Fields both the public and the organiser API's schemas are made of, reporting error codes rather than prose."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from shared.times import EARLIEST, LATEST, in_accepted_range

# Schemas report codes, translated into German or English by shared.problems.
CODES = {"required": "required", "null": "null", "invalid": "invalid_type"}


def text(max_length: int, **kwargs) -> fields.String:
    """An optional text field of at most ``max_length`` characters."""
    return fields.String(
        validate=validate.Length(max=max_length, error="too_long"), error_messages=CODES, **kwargs
    )


def required_text(max_length: int, *, also=(), **kwargs) -> fields.String:
    """A text field that must hold at least one visible character and at most ``max_length``."""
    # The spec says "at least one visible character"; the validator below enforces it.
    # ``also``: further validators (a pattern, say) after the length checks.
    metadata = {"pattern": r"\S", **kwargs.pop("metadata", {})}
    return fields.String(
        required=True,
        validate=[validate.Length(min=1, error="blank"), validate.Length(max=max_length, error="too_long"), *also],
        error_messages=CODES,
        metadata=metadata,
        **kwargs,
    )


def moment(**kwargs) -> fields.AwareDateTime:
    """An instant with its UTC offset, inside the dates the services accept (``shared.times.EARLIEST``)."""
    metadata = {"description": f"From {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)",
                **kwargs.pop("metadata", {})}
    return fields.AwareDateTime(
        error_messages={**CODES, "invalid": "invalid_datetime", "invalid_awareness": "invalid_datetime"},
        validate=_in_range, metadata=metadata, **kwargs,
    )


def _in_range(value) -> None:
    if not in_accepted_range(value):
        raise ValidationError("date_out_of_range")


class QuestionOption(Schema):
    """One answer a choice question offers."""

    value = fields.String()
    label_de = fields.String()
    label_en = fields.String()
