"""Names of the Redis keys and channels the services share, built in one place."""

PREFIX = "seminare"


def feed_version() -> str:
    """Counter that rises with every change to a seminar, series or organiser."""
    return f"{PREFIX}:feeds:version"


def feed_changes_channel() -> str:
    """Pub/sub channel on which the new feed version is announced."""
    return f"{PREFIX}:feeds:changes"


def feed_body(feed: str) -> str:
    """Hash with one feed's bytes and the version they were built for (expires)."""
    return f"{PREFIX}:feeds:body:{feed}"


def feed_meta(feed: str) -> str:
    """Hash with one feed's ETag and Last-Modified, kept so Last-Modified never moves back."""
    return f"{PREFIX}:feeds:meta:{feed}"


def rate_limit_prefix() -> str:
    """Prefix of the request counters kept by the rate limiter."""
    return f"{PREFIX}:ratelimit"


def scheduler_lock() -> str:
    """Lock that keeps a second scheduler from running the same minute's jobs."""
    return f"{PREFIX}:scheduler:lock"
