"""Baseline for the registration benchmark: a bare endpoint that inserts one row, nothing else."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from shared.db import make_engine, make_session_factory, write_transaction

metadata = MetaData()
rows = Table("bench_baseline", metadata, Column("id", Integer, primary_key=True), Column("email", String(254)))


def create_table(database_url: str) -> None:
    """Create the baseline's table once, before the gunicorn workers start."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()


def create_app() -> Flask:
    """The same database, engine settings and transaction helper as the real service."""
    engine = make_engine(os.environ["DATABASE_URL"])
    sessions = make_session_factory(engine)
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/insert")
    def insert_one():
        with write_transaction(sessions) as session:
            session.execute(insert(rows).values(email="bench@example.org"))
        return jsonify(status="ok"), 201

    return app
