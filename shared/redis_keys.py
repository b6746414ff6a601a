"""Names of the Redis keys and channels the services share, built in one place."""

PREFIX = "seminare"


def content_version() -> str:
    """Counter that rises with every change to public content: an organiser, series, seminar or question."""
    return f"{PREFIX}:content:version"


def content_changes_channel() -> str:
    """Pub/sub channel on which the new content version is announced."""
    return f"{PREFIX}:content:changes"


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
