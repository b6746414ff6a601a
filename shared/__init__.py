"""Code the seminar services share: settings, database, models, broker, tokens, time."""
