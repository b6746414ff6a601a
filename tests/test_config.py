"""Settings come from the environment, with clear errors for what cannot work."""

import pytest

from shared.config import ConfigError, Settings


def test_settings_are_read_from_the_environment():
    settings = Settings.from_env({
        "DATABASE_URL": "postgresql+psycopg://u@db/seminare",
        "REDIS_URL": "redis://cache:6379/2",
        "MAIL_URL": "smtp+starttls://user:pw@mail.example:587",
        "SECRET_KEY": "k" * 32,
        "REGISTRATION_BASE_URL": "https://anmeldung.example.org/",
        "SWEEP_AFTER_SECONDS": "30",
    })
    assert settings.database_url == "postgresql+psycopg://u@db/seminare"
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.registration_base_url == "https://anmeldung.example.org"
    assert settings.public_host == "anmeldung.example.org"
    assert settings.sweep_after_seconds == 30
    assert settings.default_timezone == "Europe/Berlin"


@pytest.mark.parametrize("environ, message", [
    ({}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "short"}, "too short"),
    ({"SECRET_KEY": "k" * 32, "MAIL_URL": "pigeon://loft"}, "unknown scheme"),
    ({"SECRET_KEY": "k" * 32, "SWEEP_AFTER_SECONDS": "soon"}, "whole number"),
])
def test_unusable_settings_are_refused_with_a_reason(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_statement_settings_come_from_the_environment():
    settings = Settings.from_env({
        "SECRET_KEY": "k" * 32, "OPERATOR_NAME": "Stadt Beispiel", "OPERATOR_EMAIL": "barrierefrei@stadt.example",
        "OPERATOR_ADDRESS": "Rathaus; Markt 1", "OPERATOR_IMPRINT_URL": "https://stadt.example/impressum",
        "OPERATOR_PRIVACY_URL": "https://stadt.example/datenschutz", "ACCESSIBILITY_COMPLIANCE": "None",
        "ACCESSIBILITY_STATEMENT_DATE": "2027-01-15", "ACCESSIBILITY_LIMITATIONS_FILE": "/etc/seminare/grenzen.txt",
    })
    assert (settings.operator_name, settings.operator_email, settings.operator_address) == (
        "Stadt Beispiel", "barrierefrei@stadt.example", "Rathaus; Markt 1")
    assert settings.operator_imprint_url == "https://stadt.example/impressum"
    assert settings.accessibility_compliance == "none" and settings.accessibility_statement_date.isoformat() == "2027-01-15"
    assert settings.accessibility_limitations_file == "/etc/seminare/grenzen.txt"
    assert settings.enforcement_body_name == Settings.enforcement_body_name
    assert settings.enforcement_body_url == "https://www.schlichtungsstelle-bgg.de"


@pytest.mark.parametrize("environ, message", [
    ({"ACCESSIBILITY_COMPLIANCE": "mostly"}, "full, partial or none"),
    ({"ACCESSIBILITY_STATEMENT_DATE": "5.12.2026"}, "a date like"),
    ({"OPERATOR_IMPRINT_URL": "kreis.example/impressum"}, "OPERATOR_IMPRINT_URL must be an http"),
    ({"ENFORCEMENT_BODY_URL": "javascript:alert(1)"}, "ENFORCEMENT_BODY_URL must be an http"),
])
def test_unusable_statement_settings_are_refused(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"SECRET_KEY": "k" * 32, **environ})
