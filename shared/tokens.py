"""Signed, unguessable tokens in participant URLs; each purpose has its own salt."""

from __future__ import annotations

from datetime import datetime, timezone

from itsdangerous import BadSignature, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

# A token for one purpose can never be replayed for another.
REGISTRATION_PAGE = "registration-page"
PERSONAL_FEED = "personal-feed"
# The page after registering: it names the address the mail went to and can send it again.
REGISTERED_PAGE = "registered-page"


def make_token(secret_key: str, purpose: str, object_id: int, nonce: str) -> str:
    """Sign an object id together with its current nonce (replace the nonce to revoke)."""
    return URLSafeSerializer(secret_key, salt=purpose).dumps([object_id, nonce])


def read_token(secret_key: str, purpose: str, token: str) -> tuple[int, str] | None:
    """Return (object_id, nonce) of a valid token, or None for anything else."""
    try:
        payload = URLSafeSerializer(secret_key, salt=purpose).loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        return None
    return payload[0], payload[1]


def make_timed_token(secret_key: str, purpose: str, object_id: int, nonce: str) -> str:
    """Like ``make_token``, with the time it was made signed in (``read_timed_token`` returns it)."""
    return URLSafeTimedSerializer(secret_key, salt=purpose).dumps([object_id, nonce])


def read_timed_token(secret_key: str, purpose: str, token: str, max_age: int) -> tuple[int, str, datetime] | None:
    """Return (object_id, nonce, made at) of a valid token at most ``max_age`` seconds old, or None."""
    try:
        payload, made_at = URLSafeTimedSerializer(secret_key, salt=purpose).loads(
            token, max_age=max_age, return_timestamp=True)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)
            and isinstance(payload[1], str)):
        return None
    return payload[0], payload[1], made_at


FORM = "registration-form"


def make_form_token(secret_key: str, seminar_id: int) -> str:
    """Token for a server-rendered form: proves the form came from us and when."""
    return TimestampSigner(secret_key, salt=FORM).sign(str(seminar_id)).decode()


def form_token_age(secret_key: str, token: str, seminar_id: int, max_age: int) -> float | None:
    """Seconds since the form was rendered, or None if the token is forged, stale or for another seminar."""
    signer = TimestampSigner(secret_key, salt=FORM)
    try:
        value, signed_at = signer.unsign(token, max_age=max_age, return_timestamp=True)
    except BadSignature:
        return None
    if value.decode() != str(seminar_id):
        return None
    return (datetime.now(timezone.utc) - signed_at).total_seconds()
