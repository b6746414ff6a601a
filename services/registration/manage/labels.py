"""The words organisers read for the codes of the data model: statuses, formats, mail kinds, roles, audit actions.

German here, English in the catalog; ``label`` gives one in the reader's language.
"""

from __future__ import annotations

from shared.i18n import N_, NC_, translate, translate_context
from shared.models import (
    NotificationKind,
    NotificationStatus,
    Role,
    SeminarFormat,
    SeminarStatus,
    WebhookDeliveryStatus,
    WebhookEvent,
)

SEMINAR_STATUSES = {
    SeminarStatus.DRAFT: N_("Entwurf"),
    SeminarStatus.PUBLISHED: N_("veröffentlicht"),
    SeminarStatus.CANCELLED: N_("abgesagt"),
}
SEMINAR_FORMATS = {
    SeminarFormat.ONLINE: N_("Online"),
    SeminarFormat.IN_PERSON: N_("Vor Ort"),
    SeminarFormat.HYBRID: N_("Hybrid (vor Ort und online)"),
}
MAIL_KINDS = {
    NotificationKind.CONFIRM_ADDRESS: N_("Bitte Adresse bestätigen"),
    NotificationKind.CONFIRMED: N_("Anmeldebestätigung"),
    NotificationKind.WAITLISTED: N_("Warteliste"),
    NotificationKind.PROMOTED: N_("Nachgerückt"),
    NotificationKind.REMINDER: N_("Erinnerung"),
    NotificationKind.CHANGED: N_("Änderung"),
    NotificationKind.SEMINAR_CANCELLED: N_("Absage des Seminars"),
    NotificationKind.CANCELLATION_RECEIPT: N_("Stornobestätigung"),
    NotificationKind.ALREADY_REGISTERED: N_("Schon angemeldet"),
}
MAIL_STATUSES = {
    NotificationStatus.QUEUED: N_("wartet auf Versand"),
    NotificationStatus.SENDING: N_("wird gesendet"),
    NotificationStatus.SENT: N_("gesendet"),
    NotificationStatus.RETRY: N_("neuer Versuch folgt"),
    NotificationStatus.FAILED: N_("fehlgeschlagen"),
    NotificationStatus.CANCELLED: N_("nicht mehr nötig"),
}
ROLES = {Role.VIEWER: NC_("role", "Lesen"), Role.EDITOR: NC_("role", "Bearbeiten"), Role.ADMIN: NC_("role", "Verwalten")}
AUDIT_ACTIONS = {
    "seminar.created": N_("Seminar angelegt"),
    "seminar.changed": N_("Seminar geändert"),
    "seminar.published": N_("Seminar veröffentlicht"),
    "seminar.moved": N_("Seminar verschoben"),
    "seminar.cancelled": N_("Seminar abgesagt"),
    "seminar.deleted": N_("Seminar gelöscht"),
    "series.created": N_("Reihe angelegt"),
    "series.changed": N_("Reihe geändert"),
    "series.deleted": N_("Reihe gelöscht"),
    "registration.cancelled": N_("Abmeldung"),
    "registration.promoted": N_("Von der Warteliste nachgerückt"),
    "registration.mail_resent": N_("E-Mail erneut gesendet"),
    "attendees.exported": N_("Teilnehmendenliste exportiert"),
    "organiser.changed": N_("Einstellungen geändert"),
    "token.created": N_("API-Token angelegt"),
    "token.revoked": N_("API-Token widerrufen"),
    "person.reported": N_("Auskunft zu einer Person erteilt"),
    "person.erased": N_("Daten einer Person gelöscht"),
    "webhook.created": N_("Webhook angelegt"),
    "webhook.changed": N_("Webhook geändert"),
    "webhook.deleted": N_("Webhook gelöscht"),
    "webhook.secret_rotated": N_("Webhook-Schlüssel erneuert"),
    "webhook.redelivered": N_("Webhook erneut gesendet"),
}
WEBHOOK_EVENTS = {
    WebhookEvent.REGISTRATION_CREATED: N_("Neue Anmeldung"),
    WebhookEvent.REGISTRATION_CONFIRMED: N_("Anmeldung bestätigt"),
    WebhookEvent.REGISTRATION_WAITLISTED: N_("Auf die Warteliste gesetzt"),
    WebhookEvent.REGISTRATION_PROMOTED: N_("Von der Warteliste nachgerückt"),
    WebhookEvent.REGISTRATION_CANCELLED: N_("Abmeldung"),
    WebhookEvent.SEMINAR_PUBLISHED: N_("Seminar veröffentlicht"),
    WebhookEvent.SEMINAR_CHANGED: N_("Seminar geändert"),
    WebhookEvent.SEMINAR_CANCELLED: N_("Seminar abgesagt"),
    WebhookEvent.TEST: N_("Testereignis"),
}
WEBHOOK_STATUSES = {
    WebhookDeliveryStatus.QUEUED: N_("wartet auf Versand"),
    WebhookDeliveryStatus.SENDING: N_("wird gesendet"),
    WebhookDeliveryStatus.SENT: N_("zugestellt"),
    WebhookDeliveryStatus.RETRY: N_("neuer Versuch folgt"),
    WebhookDeliveryStatus.FAILED: N_("fehlgeschlagen"),
}


def label(language: str, names: dict, key) -> str:
    """The translated label of a status, kind or action; unknown keys show as they are."""
    text = names.get(key)
    if text is None:
        return str(key)
    return translate_context(language, *text) if isinstance(text, tuple) else translate(language, text)
