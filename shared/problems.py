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
    "series_not_found": {
        "de": ("Reihe nicht gefunden", "Diese Reihe gibt es nicht."),
        "en": ("Series not found", "This series does not exist."),
    },
    "registration_not_found": {
        "de": ("Anmeldung nicht gefunden", "Diese Anmeldung gibt es nicht."),
        "en": ("Registration not found", "This registration does not exist."),
    },
    "capacity_below_taken": {
        "de": ("Zu wenige Plätze", "Es sind schon mehr Plätze vergeben, als die neue Zahl erlaubt."),
        "en": ("Too few seats", "More seats are already taken than the new number allows."),
    },
    "seminar_has_registrations": {
        "de": ("Seminar hat Anmeldungen", "Ein Seminar mit Anmeldungen kann nicht gelöscht werden; sagen Sie es stattdessen ab."),
        "en": ("Seminar has registrations", "A seminar with registrations cannot be deleted; cancel it instead."),
    },
    "not_waitlisted": {
        "de": ("Nicht auf der Warteliste", "Nur Personen auf der Warteliste können nachrücken."),
        "en": ("Not on the waiting list", "Only people on the waiting list can be moved up."),
    },
    "address_not_confirmed": {
        "de": ("Adresse nicht bestätigt", "Diese Person hat ihre E-Mail-Adresse noch nicht bestätigt."),
        "en": ("Address not confirmed", "This person has not confirmed their email address yet."),
    },
    "nothing_to_resend": {
        "de": ("Keine Mail zu senden", "Für eine abgesagte oder abgelaufene Anmeldung gibt es keine Mail zu wiederholen."),
        "en": ("No mail to send", "A cancelled or expired registration has no mail to repeat."),
    },
    "slug_taken": {
        "de": ("Kurzname vergeben", "Dieser Kurzname wird schon verwendet."),
        "en": ("Short name taken", "This short name is already in use."),
    },
    "unauthorized": {
        "de": ("Anmeldung erforderlich", "Bitte melden Sie sich an oder senden Sie ein gültiges API-Token."),
        "en": ("Authentication required", "Please log in or send a valid API token."),
    },
    "forbidden": {
        "de": ("Keine Berechtigung", "Ihre Rolle erlaubt diese Aktion nicht."),
        "en": ("Not allowed", "Your role does not allow this action."),
    },
    "csrf_failed": {
        "de": ("Formular abgelaufen", "Bitte laden Sie die Seite neu und senden Sie das Formular noch einmal."),
        "en": ("Form expired", "Please reload the page and send the form again."),
    },
    "login_failed": {
        "de": ("Anmeldung fehlgeschlagen", "E-Mail-Adresse oder Passwort sind falsch."),
        "en": ("Login failed", "The email address or password is wrong."),
    },
    "password_too_short": {
        "de": ("Passwort zu kurz", "Das Passwort muss mindestens 12 Zeichen haben."),
        "en": ("Password too short", "The password must have at least 12 characters."),
    },
    "account_exists": {
        "de": ("Konto existiert", "Für diese E-Mail-Adresse gibt es schon ein Konto."),
        "en": ("Account exists", "There is already an account for this email address."),
    },
    "token_not_found": {
        "de": ("Token nicht gefunden", "Dieses Token gibt es nicht oder es ist schon widerrufen."),
        "en": ("Token not found", "This token does not exist or is already revoked."),
    },
    "origin_not_allowed": {
        "de": ("Website nicht freigegeben", "Diese Website darf das Anmeldeformular nicht einbetten. "
               "Der Veranstalter kann sie in seinen Einstellungen freigeben."),
        "en": ("Website not allowed", "This website may not embed the registration form. "
               "The organiser can allow it in their settings."),
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
    "invalid_slug": {
        "de": "Nur Kleinbuchstaben, Ziffern und Bindestriche (z. B. kommunal-engagiert).",
        "en": "Only lower-case letters, digits and hyphens (e.g. kommunal-engagiert).",
    },
    "invalid_origin": {
        "de": "Eine Herkunft wie https://www.beispiel.de, ohne Pfad.",
        "en": "An origin such as https://www.example.org, without a path.",
    },
    "invalid_url": {"de": "Bitte geben Sie eine Adresse mit https:// an.", "en": "Please enter an address with https://."},
    "invalid_key": {
        "de": "Ein Schlüssel aus Kleinbuchstaben, Ziffern und _, der mit einem Buchstaben beginnt.",
        "en": "A key of lower-case letters, digits and _, starting with a letter.",
    },
    "options_required": {"de": "Auswahlfragen brauchen Antwortmöglichkeiten.", "en": "Choice questions need options."},
    "invalid_datetime": {
        "de": "Bitte Datum und Uhrzeit mit Zeitzone angeben (z. B. 2026-12-02T13:30:00+01:00).",
        "en": "Please give date and time with a zone (e.g. 2026-12-02T13:30:00+01:00).",
    },
    "invalid_timezone": {"de": "Diese Zeitzone ist unbekannt.", "en": "This time zone is unknown."},
    "ends_before_start": {"de": "Das Ende muss nach dem Beginn liegen.", "en": "The end must be after the start."},
    "out_of_range": {"de": "Dieser Wert liegt außerhalb des erlaubten Bereichs.", "en": "This value is out of range."},
    "duplicate_key": {"de": "Jeder Schlüssel darf nur einmal vorkommen.", "en": "Each key may occur only once."},
}

STATUS_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
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
