"""Error answers as RFC 9457 problem+json, in German or English."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Response, json, request

from shared.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translate

# Problem types: code -> (title, detail), German; the catalog has the English.
PROBLEMS: dict[str, tuple[str, str]] = {
    "validation_failed": (
        N_("Eingaben prüfen"),
        N_("Einige Angaben fehlen oder sind ungültig."),
    ),
    "malformed_request": (
        N_("Ungültige Anfrage"),
        N_("Der Inhalt der Anfrage ist kein gültiges JSON-Objekt."),
    ),
    "seminar_not_found": (
        N_("Seminar nicht gefunden"),
        N_("Dieses Seminar gibt es nicht oder es ist nicht veröffentlicht."),
    ),
    "registration_not_open_yet": (
        N_("Anmeldung noch nicht geöffnet"),
        N_("Die Anmeldung für dieses Seminar beginnt später."),
    ),
    "registration_closed": (
        N_("Anmeldung geschlossen"),
        N_("Die Anmeldung für dieses Seminar ist beendet."),
    ),
    "seminar_cancelled": (
        N_("Seminar abgesagt"),
        N_("Dieses Seminar wurde abgesagt."),
    ),
    "seminar_full": (
        N_("Ausgebucht"),
        N_("Alle Plätze sind vergeben und es gibt keine Warteliste."),
    ),
    "ends_before_start": (
        N_("Ungültige Zeit"),
        N_("Das Ende muss nach dem Beginn liegen."),
    ),
    "seminar_too_long": (
        N_("Seminar zu lang"),
        N_("Ein Seminar dauert höchstens sieben Tage; längere Veranstaltungen werden als Reihe angelegt."),
    ),
    "date_out_of_range": (
        N_("Ungültiges Datum"),
        N_("Bitte ein Datum zwischen dem 1. Januar 2000 und dem 31. Dezember 2099 angeben."),
    ),
    "series_not_found": (
        N_("Reihe nicht gefunden"),
        N_("Diese Reihe gibt es nicht."),
    ),
    "registration_not_found": (
        N_("Anmeldung nicht gefunden"),
        N_("Diese Anmeldung gibt es nicht."),
    ),
    "capacity_below_taken": (
        N_("Zu wenige Plätze"),
        N_("Es sind schon mehr Plätze vergeben, als die neue Zahl erlaubt."),
    ),
    "seminar_has_registrations": (
        N_("Seminar hat Anmeldungen"),
        N_("Ein Seminar mit Anmeldungen kann nicht gelöscht werden; sagen Sie es stattdessen ab."),
    ),
    "not_waitlisted": (
        N_("Nicht auf der Warteliste"),
        N_("Nur Personen auf der Warteliste können nachrücken."),
    ),
    "address_not_confirmed": (
        N_("Adresse nicht bestätigt"),
        N_("Diese Person hat ihre E-Mail-Adresse noch nicht bestätigt."),
    ),
    "nothing_to_resend": (
        N_("Keine E-Mail zu senden"),
        N_("Für eine abgemeldete oder verfallene Anmeldung gibt es keine E-Mail zu wiederholen."),
    ),
    "resend_too_soon": (
        N_("Bitte noch etwas warten"),
        N_("Die E-Mail ist gerade erst gesendet worden. Manche E-Mails brauchen einige Minuten. Schauen Sie bitte auch im Spam-Ordner nach."),
    ),
    "webhook_url_not_allowed": (
        N_("Adresse nicht erlaubt"),
        N_("Webhooks gehen nur an https-Adressen im öffentlichen Internet, nicht an dieses System oder ein "
           "internes Netz."),
    ),
    "webhook_not_found": (
        N_("Webhook nicht gefunden"),
        N_("Diesen Webhook gibt es nicht."),
    ),
    "slug_taken": (
        N_("Kurzname vergeben"),
        N_("Dieser Kurzname wird schon verwendet."),
    ),
    "unauthorized": (
        N_("Anmeldung erforderlich"),
        N_("Bitte melden Sie sich an oder senden Sie ein gültiges API-Token."),
    ),
    "forbidden": (
        N_("Keine Berechtigung"),
        N_("Ihre Rolle erlaubt diese Aktion nicht."),
    ),
    "csrf_failed": (
        N_("Formular abgelaufen"),
        N_("Bitte laden Sie die Seite neu und senden Sie das Formular noch einmal."),
    ),
    "login_failed": (
        N_("Anmeldung fehlgeschlagen"),
        N_("E-Mail-Adresse oder Passwort ist falsch."),
    ),
    "password_too_short": (
        N_("Passwort zu kurz"),
        N_("Das Passwort muss mindestens 12 Zeichen haben."),
    ),
    "account_exists": (
        N_("Konto existiert"),
        N_("Für diese E-Mail-Adresse gibt es schon ein Konto."),
    ),
    "token_not_found": (
        N_("Token nicht gefunden"),
        N_("Dieses Token gibt es nicht oder es ist schon widerrufen."),
    ),
    "origin_not_allowed": (
        N_("Website nicht freigegeben"),
        N_(
            "Diese Website darf das Anmeldeformular nicht einbetten. "
            "Der Veranstalter kann sie in seinen Einstellungen freigeben."
        ),
    ),
    "not_found": (
        N_("Nicht gefunden"),
        N_("Diese Adresse gibt es nicht."),
    ),
    "method_not_allowed": (
        N_("Methode nicht erlaubt"),
        N_("Diese Adresse unterstützt diese Anfrage-Methode nicht."),
    ),
    "payload_too_large": (
        N_("Anfrage zu groß"),
        N_("Die Anfrage ist größer als erlaubt."),
    ),
    "unsupported_media_type": (
        N_("Falsches Format"),
        N_("Bitte senden Sie die Daten als application/json."),
    ),
    "rate_limited": (
        N_("Zu viele Anfragen"),
        N_("Bitte warten Sie einen Moment und versuchen Sie es erneut."),
    ),
    "internal_error": (
        N_("Interner Fehler"),
        N_("Etwas ist schiefgegangen. Bitte versuchen Sie es später erneut."),
    ),
}

# Field error codes that schemas use instead of prose, translated when answering.
FIELD_MESSAGES: dict[str, str] = {
    "required": N_("Dieses Feld ist erforderlich."),
    "null": N_("Dieses Feld darf nicht leer sein."),
    "blank": N_("Dieses Feld darf nicht leer sein."),
    "invalid_type": N_("Dieser Wert hat den falschen Typ."),
    "too_long": N_("Dieser Text ist zu lang."),
    "invalid_email": N_("Bitte geben Sie eine gültige E-Mail-Adresse an."),
    "consent_required": N_("Bitte stimmen Sie der Datenschutzerklärung zu."),
    "invalid_choice": N_("Dieser Wert ist nicht erlaubt."),
    "unknown_field": N_("Dieses Feld ist unbekannt."),
    "invalid_slug": N_("Nur Kleinbuchstaben, Ziffern und Bindestriche (z. B. kommunal-engagiert)."),
    "invalid_origin": N_("Eine Herkunft wie https://www.beispiel.de, ohne Pfad."),
    "invalid_url": N_("Bitte geben Sie eine Adresse mit https:// an."),
    "invalid_key": N_("Ein Schlüssel aus Kleinbuchstaben, Ziffern und _, der mit einem Buchstaben beginnt."),
    "options_required": N_("Auswahlfragen brauchen Antwortmöglichkeiten."),
    "invalid_datetime": N_("Bitte Datum und Uhrzeit mit Zeitzone angeben (z. B. 2026-12-02T13:30:00+01:00)."),
    "invalid_timezone": N_("Diese Zeitzone ist unbekannt."),
    "ends_before_start": N_("Das Ende muss nach dem Beginn liegen."),
    "seminar_too_long": N_("Ein Seminar dauert höchstens sieben Tage."),
    "date_out_of_range": N_("Bitte ein Datum zwischen dem 1. Januar 2000 und dem 31. Dezember 2099 angeben."),
    "out_of_range": N_("Dieser Wert liegt außerhalb des erlaubten Bereichs."),
    "duplicate_key": N_("Jeder Schlüssel darf nur einmal vorkommen."),
    "duplicate_value": N_("Jeder Wert darf nur einmal vorkommen."),
    "invalid_characters": N_("Dieser Text enthält Zeichen, die nicht erlaubt sind (etwa ein Nullzeichen)."),
    "choose_one": N_("Bitte wählen Sie mindestens eines aus."),
    "url_with_login": N_("Die Adresse darf keinen Benutzernamen und kein Passwort enthalten."),
    "url_unknown_host": N_("Dieser Rechnername lässt sich nicht auflösen."),
    "url_private_address": N_("Diese Adresse führt zu diesem System oder in ein internes Netz; Webhooks gehen nur "
                              "an Adressen im öffentlichen Internet."),
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


class Refusal(Exception):
    """A request the rules refuse, for a reason that has its problem type here.

    Subclasses name the reason (``code``, a key of ``PROBLEMS``) and the HTTP status;
    ``errors`` holds messages per field where the reason is about fields. The web
    services answer every refusal with its problem, so routes need not catch them.
    """

    code = "internal_error"
    status = 500

    def __init__(self, errors: Any = None):
        super().__init__(self.code)
        self.errors = errors

    @property
    def problem_errors(self) -> Any:
        """The messages per field as the problem+json body carries them (None: no field is concerned)."""
        return self.errors


def negotiated_language(preferred: str | None = None) -> str:
    """The language to answer in: an explicit choice, else Accept-Language, else German."""
    if preferred in LANGUAGES:
        return preferred
    return request.accept_languages.best_match(LANGUAGES, default=SOURCE_LANGUAGE)


def translate_field_errors(errors: Any, language: str) -> Any:
    """Replace error codes in a (nested) marshmallow error structure by sentences."""
    if isinstance(errors, Mapping):
        return {key: translate_field_errors(value, language) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [translate_field_errors(item, language) for item in errors]
    if isinstance(errors, str) and errors in FIELD_MESSAGES:
        return field_message(errors, language)
    return errors


def problem_text(code: str, language: str) -> tuple[str, str]:
    """Title and detail of a problem code in ``language``; unknown codes read as internal errors."""
    title, detail = PROBLEMS.get(code, PROBLEMS["internal_error"])
    return translate(language, title), translate(language, detail)


def field_message(code: str, language: str) -> str:
    """The sentence for a field error code in ``language``."""
    return translate(language, FIELD_MESSAGES[code])


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
    title, detail = problem_text(code, lang)
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
