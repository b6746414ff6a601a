"""Baseline for the feed benchmark: a minimal Flask app answering the same bytes from memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, request


def create_app() -> Flask:
    """Serve the file named by BENCH_FEED_FILE, with a strong ETag and 304, nothing else."""
    body = Path(os.environ["BENCH_FEED_FILE"]).read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/feed.ics")
    def feed():
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type="text/calendar; charset=utf-8", headers={"ETag": etag})

    return app
