"""Error answers as RFC 9457 problem+json, in German or English."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Response, json, request

LANGUAGES = ("de", "en")

# Problem types: code -> language -> (title, detail).
PROBLEMS: dict[str, dict[str, tuple[str, str]]] = {
    "validation_failed": {
        "de": ("Eingaben prüfen", "Einige Angaben fehlen oder sind ungültig."),
        "en": ("Please check your input", "Some fields are missing or invalid."),
    },
    "malformed_request": {
        "de": ("Ungültige Anfrage", "Der Inhalt der Anfrage ist kein gültiges JSON-Objekt."),
        "en": ("Malformed request", "The request body is not a valid JSON object."),
    },
    "seminar_not_found": {
        "de": ("Seminar nicht gefunden", "Dieses Seminar gibt es nicht oder es ist nicht veröffentlicht."),
        "en": ("Seminar not found", "This seminar does not exist or is not published."),
    },
    "registration_not_open_yet": {
        "de": ("Anmeldung noch nicht geöffnet", "Die Anmeldung für dieses Seminar beginnt später."),
        "en": ("Registration not open yet", "Registration for this seminar opens later."),
    },
    "registration_closed": {
        "de": ("Anmeldung geschlossen", "Die Anmeldung für dieses Seminar ist beendet."),
        "en": ("Registration closed", "Registration for this seminar has closed."),
    },
    "seminar_cancelled": {
        "de": ("Seminar abgesagt", "Dieses Seminar wurde abgesagt."),
        "en": ("Seminar cancelled", "This seminar has been cancelled."),
    },
    "seminar_full": {
        "de": ("Ausgebucht", "Alle Plätze sind vergeben und es gibt keine Warteliste."),
        "en": ("Fully booked", "All seats are taken and there is no waiting list."),
    },
    "ends_before_start": {
        "de": ("Ungültige Zeit", "Das Ende muss nach dem Beginn liegen."),
        "en": ("Invalid time", "The end must be after the start."),
    },
    "not_found": {
        "de": ("Nicht gefunden", "Diese Adresse gibt es nicht."),
        "en": ("Not found", "There is nothing at this address."),
    },
    "method_not_allowed": {
        "de": ("Methode nicht erlaubt", "Diese Adresse unterstützt diese Anfrage-Methode nicht."),
        "en": ("Method not allowed", "This address does not support this request method."),
    },
    "payload_too_large": {
        "de": ("Anfrage zu groß", "Die Anfrage ist größer als erlaubt."),
        "en": ("Request too large", "The request is larger than allowed."),
    },
    "unsupported_media_type": {
        "de": ("Falsches Format", "Bitte senden Sie die Daten als application/json."),
        "en": ("Unsupported media type", "Please send the data as application/json."),
    },
    "rate_limited": {
        "de": ("Zu viele Anfragen", "Bitte warten Sie einen Moment und versuchen Sie es erneut."),
        "en": ("Too many requests", "Please wait a moment and try again."),
    },
    "internal_error": {
        "de": ("Interner Fehler", "Etwas ist schiefgegangen. Bitte versuchen Sie es später erneut."),
        "en": ("Internal error", "Something went wrong. Please try again later."),
    },
}

# Field error codes that schemas use instead of prose, translated when answering.
FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "required": {"de": "Dieses Feld ist erforderlich.", "en": "This field is required."},
    "null": {"de": "Dieses Feld darf nicht leer sein.", "en": "This field may not be empty."},
    "blank": {"de": "Dieses Feld darf nicht leer sein.", "en": "This field may not be empty."},
    "invalid_type": {"de": "Dieser Wert hat den falschen Typ.", "en": "This value has the wrong type."},
    "too_long": {"de": "Dieser Text ist zu lang.", "en": "This text is too long."},
    "invalid_email": {
        "de": "Bitte geben Sie eine gültige E-Mail-Adresse an.",
        "en": "Please enter a valid email address.",
    },
    "consent_required": {
        "de": "Bitte stimmen Sie der Datenschutzerklärung zu.",
        "en": "Please agree to the privacy policy.",
    },
    "invalid_choice": {"de": "Dieser Wert ist nicht erlaubt.", "en": "This value is not allowed."},
    "unknown_field": {"de": "Dieses Feld ist unbekannt.", "en": "This field is unknown."},
}

STATUS_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
}


def negotiated_language(preferred: str | None = None) -> str:
    """The language to answer in: an explicit choice, else Accept-Language, else German."""
    if preferred in LANGUAGES:
        return preferred
    return request.accept_languages.best_match(LANGUAGES, default="de")


def translate_field_errors(errors: Any, language: str) -> Any:
    """Replace error codes in a (nested) marshmallow error structure by sentences."""
    if isinstance(errors, Mapping):
        return {key: translate_field_errors(value, language) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [translate_field_errors(item, language) for item in errors]
    if isinstance(errors, str) and errors in FIELD_MESSAGES:
        return FIELD_MESSAGES[errors][language]
    return errors


def problem(
    status: int,
    code: str,
    *,
    language: str | None = None,
    errors: Any = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Build an ``application/problem+json`` response for a known problem code."""
    lang = negotiated_language(language)
    title, detail = PROBLEMS.get(code, PROBLEMS["internal_error"])[lang]
    body: dict[str, Any] = {
        "type": f"urn:seminare:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = translate_field_errors(errors, lang)
    body.update(extra)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    response.headers["Content-Language"] = lang
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
