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
