"""The consent a participant gives when registering; its version is stored with each registration."""

# Change the version whenever the text changes, so each registration records what it agreed to.
CONSENT_VERSION = "2026-11-de-en-1"

CONSENT_TEXT = {
    "de": (
        "Ich stimme zu, dass meine Angaben für die Durchführung dieses Seminars verarbeitet "
        "werden, wie in der Datenschutzerklärung des Veranstalters beschrieben."
    ),
    "en": (
        "I agree that my details are processed to run this seminar, as described in the "
        "organiser's privacy policy."
    ),
}
