"""Where the services may send a request: a public address on the internet, never this machine or its network.

A webhook URL is checked when an organiser saves it and again before every
delivery, since a name can resolve elsewhere by then (DNS rebinding): the
delivery connects to an address checked here, not to whatever the name says later.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """A URL the services must not send to; the message says why, in English, for logs and the delivery log.

    ``code`` is the field error code (``shared.problems.FIELD_MESSAGES``) a form shows for it.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def allowed_addresses(url: str, allow_private: bool = False) -> list[str]:
    """The addresses a request to ``url`` may connect to; UnsafeUrl if there is none.

    Only https (plain http too with ``allow_private``, for a receiver on the
    development machine), no user or password in the URL, and every address the
    host name resolves to must be a public one unless ``allow_private``.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeUrl("only https URLs", "invalid_url")
    if parts.username or parts.password:
        raise UnsafeUrl("no user or password in the URL", "url_with_login")
    if not parts.hostname:
        raise UnsafeUrl("no host", "invalid_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # unknown name, bad port
        raise UnsafeUrl(f"the host does not resolve ({exc.__class__.__name__})", "url_unknown_host") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not allow_private:
        private = [address for address in addresses if not ipaddress.ip_address(address).is_global]
        if private:
            # Loopback, private networks, link-local (cloud metadata at 169.254.169.254), reserved ranges.
            raise UnsafeUrl(f"the host resolves to a non-public address ({private[0]})", "url_private_address")
    return addresses
