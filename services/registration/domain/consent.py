"""The consent a participant gives when registering; its version is stored with each registration."""

from shared.i18n import N_, translate

# Change the version whenever the text or its translation changes, so each registration
# records what it agreed to.
CONSENT_VERSION = "2026-12-de-en-2"

CONSENT_TEXT = N_(
    "Ich stimme zu, dass meine Angaben für die Durchführung dieses Seminars verarbeitet "
    "werden, wie in der Datenschutzerklärung der veranstaltenden Organisation beschrieben."
)


def consent_text(language: str) -> str:
    """The consent sentence as the participant reads it."""
    return translate(language, CONSENT_TEXT)
