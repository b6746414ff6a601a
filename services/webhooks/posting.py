"""One POST to a partner system, safely: to an address checked just now, no redirects, short timeouts, a short read.

The host name is resolved and checked (``shared.outbound``) right before the
request, and the connection goes to that address, with the name for TLS and the
Host header: a name that resolves to this machine by the time of delivery (DNS
rebinding) is refused, not followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from shared.outbound import allowed_addresses

# What is kept of an answer for the organiser's log, and read of it at all.
EXCERPT_BYTES = 300
READ_BYTES = 4096


@dataclass(frozen=True)
class Answer:
    """What the receiver said: its status code and the start of its body."""

    status: int
    excerpt: str


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool) -> Answer:
    """POST ``body`` to ``url``; raises ``shared.outbound.UnsafeUrl`` or ``urllib3.exceptions.HTTPError`` on failure."""
    parts = urlsplit(url)
    address = allowed_addresses(url, allow_private)[0]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=parts.hostname,
                                           assert_hostname=parts.hostname, cert_reqs="CERT_REQUIRED", maxsize=1)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, maxsize=1)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers={**headers, "Host": host_header}, redirect=False, retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout), preload_content=False,
        )
        try:
            start = response.read(READ_BYTES, decode_content=False)
        finally:
            response.release_conn()
        return Answer(response.status, start[:EXCERPT_BYTES].decode("utf-8", "replace"))
    finally:
        pool.close()
