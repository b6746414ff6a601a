"""What both the public and the organiser API's input schemas are made of; they report error codes, not prose."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from shared.times import EARLIEST, LATEST, in_accepted_range

# Schemas report codes, translated into German or English by shared.problems.
CODES = {"required": "required", "null": "null", "invalid": "invalid_type"}
# What no text may hold: NUL (PostgreSQL refuses it) and lone surrogates (not Unicode text at all).
_FORBIDDEN = {chr(0), *map(chr, range(0xD800, 0xE000))}


class Input(Schema):
    """The base of every input schema: unknown fields refused, and no string anywhere with a forbidden character."""

    error_messages = {"unknown": "unknown_field", "type": "invalid_type"}

    @pre_load
    def _only_text(self, data, **_kwargs):
        """Refuse strings with NUL or lone surrogates wherever they are, keys included, per field."""
        errors = _forbidden_characters(data)
        if errors:
            raise ValidationError(errors)
        return data


def _forbidden_characters(value: Any) -> Any:
    """Where ``value`` holds a string with a forbidden character, as marshmallow's nested error shape; None if nowhere."""
    if isinstance(value, str):
        return ["invalid_characters"] if _FORBIDDEN.intersection(value) else None
    if isinstance(value, Mapping):
        errors = {}
        for key in value:
            found = _forbidden_characters(key) or _forbidden_characters(value[key])
            if found:
                errors[key if not _forbidden_characters(key) else repr(key)] = found
        return errors or None
    if isinstance(value, (list, tuple)):
        errors = {index: found for index, item in enumerate(value) if (found := _forbidden_characters(item))}
        return errors or None
    return None


def flag(**kwargs) -> fields.Boolean:
    """A yes or no: JSON's true or false only, not the strings "true" or "1"."""
    return fields.Boolean(truthy={True}, falsy={False}, error_messages=CODES, **kwargs)


class Text(fields.String):
    """A string whose line ends are stored as ``\\n`` (browsers send a textarea's as ``\\r\\n``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        loaded = super()._deserialize(value, attr, data, **kwargs)
        return loaded.replace("\r\n", "\n").replace("\r", "\n")


def text(max_length: int, **kwargs) -> fields.String:
    """An optional text field of at most ``max_length`` characters."""
    return Text(validate=validate.Length(max=max_length, error="too_long"), error_messages=CODES, **kwargs)


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


class QuestionOption(Input):
    """One answer a choice question offers: its value (stored and exported) and its labels."""

    value = required_text(100)
    label_de = required_text(300)
    label_en = required_text(300)
