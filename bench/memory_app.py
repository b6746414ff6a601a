"""Baseline of the read benchmarks: a minimal Flask app answering stored bytes from memory."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from pathlib import Path

from flask import Flask, Response, abort, request


def create_app() -> Flask:
    """Serve each file of the directory BENCH_BODIES at /<file name>, with a strong ETag and 304, nothing else."""
    bodies = {}
    for path in Path(os.environ["BENCH_BODIES"]).iterdir():
        body = path.read_bytes()
        bodies[path.name] = (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', mimetypes.guess_type(path.name)[0])
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/<name>")
    def body(name):
        if name not in bodies:
            abort(404)
        content, etag, mimetype = bodies[name]
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(content, mimetype=mimetype, headers={"ETag": etag})

    return app
