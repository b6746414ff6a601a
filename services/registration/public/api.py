"""Public JSON API under /api/v1: seminars to read, registrations to create."""

from __future__ import annotations

import json

from flask import Response, request
from flask.views import MethodView

from shared.containment import each_shown
from shared.db import read_session
from shared.etags import content_etag
from shared.problems import problem
from services.registration.domain.public_seminars import find_public_seminar, list_public_seminars, public_view
from services.registration.domain.registrations import register
from services.registration.public.schemas import (
    RegistrationAnswer,
    RegistrationInput,
    SeminarPublic,
    SeminarQuery,
)
from services.registration.web.context import current_runtime, public_answers
from services.registration.web.json_body import Blueprint

api = Blueprint(
    "public_api", __name__, url_prefix="/api/v1", description="Seminare lesen und sich anmelden"
)


@api.before_request
def _json_only():
    """Refuse a write that is not JSON with 415 instead of a list of missing fields."""
    if request.method == "POST" and not request.is_json:
        return problem(415, "unsupported_media_type")
    return None


@api.route("/events")
class Seminars(MethodView):
    @api.arguments(SeminarQuery, location="query")
    @api.response(200, SeminarPublic(many=True))
    def get(self, filters):
        """Upcoming published seminars, soonest first."""
        runtime = current_runtime()

        def build() -> bytes:
            with read_session(runtime.sessions) as session:
                seminars = list_public_seminars(
                    session,
                    series_slug=filters.get("series"),
                    organiser_slug=filters.get("organiser"),
                    ends_after=filters.get("from_"),
                    starts_before=filters.get("to"),
                )
                schema = SeminarPublic()
                views = each_shown(seminars, lambda seminar: schema.dump(public_view(seminar, runtime.settings)))
                return json.dumps(views, ensure_ascii=False).encode()

        return cacheable(public_answers().get(("list", *sorted(filters.items())), build))


@api.route("/events/<int:event_id>")
class SeminarDetail(MethodView):
    @api.response(200, SeminarPublic)
    @api.alt_response(404, description="Unknown or unpublished seminar (problem+json)")
    def get(self, event_id):
        """One published seminar with seats left and whether registration is open."""
        runtime = current_runtime()

        def build() -> bytes | None:
            with read_session(runtime.sessions) as session:
                seminar = find_public_seminar(session, event_id)
                return None if seminar is None else _json(public_view(seminar, runtime.settings), SeminarPublic())

        body = public_answers().get(("seminar", event_id), build)
        if body is None:
            return problem(404, "seminar_not_found")
        return cacheable(body)


@api.route("/events/<int:event_id>/registrations")
class Registrations(MethodView):
    # An instance, not the class: webargs would build a new schema for every request.
    @api.arguments(RegistrationInput())
    @api.response(201, RegistrationAnswer)
    @api.alt_response(404, description="Unknown or unpublished seminar (problem+json)")
    @api.alt_response(409, description="Registration closed or fully booked (problem+json)")
    @api.alt_response(422, description="Invalid fields (problem+json with errors per field)")
    @api.alt_response(429, description="Too many registrations from this address or network (problem+json)")
    def post(self, form, event_id):
        """Register for a seminar. The answer does not reveal earlier registrations."""
        outcome = register(current_runtime(), event_id, form, kept=public_answers())
        return {"status": outcome.answer, "seminar_id": outcome.seminar_id}


def _json(view, schema) -> bytes:
    return json.dumps(schema.dump(view), ensure_ascii=False).encode()


def cacheable(body: bytes) -> Response:
    """Answer with a strong ETag so that embedded forms can revalidate cheaply (304)."""
    response = Response(body, mimetype="application/json")
    response.set_etag(content_etag(body))
    # Seats change by the minute: caches must revalidate, but may keep the bytes.
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
