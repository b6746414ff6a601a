"""The organiser API under /api/v1/manage: bearer tokens, one organiser per token.

Routes are thin: they check the token's role, validate with a schema and call one
function of ``management`` (or ``changes`` for moves and cancellations).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.links import organiser_feed_url, seminar_feed_url, seminar_page_url, series_feed_url
from shared.models import MAX_ID, Organiser, Role, Seminar, Series
from shared.problems import problem
from services.registration import management, privacy
from services.registration.accounts import AccountError
from services.registration.audit import recent_events
from services.registration.auth import api_principal
from services.registration.changes import cancel_seminar, move_seminar
from services.registration.exports import export_attendees
from services.registration.manage_schemas import (
    AuditOutput,
    ErasureOutput,
    ExportQuery,
    OrganiserInput,
    OrganiserOutput,
    PersonErase,
    PersonQuery,
    PersonReport,
    RegistrationOutput,
    RegistrationPage,
    RegistrationQuery,
    SeminarInput,
    SeminarList,
    SeminarMove,
    SeminarPatch,
    SeminarOutput,
    SeriesInput,
    SeriesPatch,
    SeriesOutput,
)
from services.registration.management import SeminarCounts
from services.registration.registrations import RegistrationRefused

manage_api = Blueprint(
    "manage_api", __name__, url_prefix="/api/v1/manage",
    description="Seminare verwalten (Bearer-Token eines Veranstalters)",
)
VIEW, EDIT, ADMIN = Role.VIEWER, Role.EDITOR, Role.ADMIN
BEARER = [{"bearerAuth": []}]
# Ids in URLs: a number outside the database's id range names nothing (404, not 500).
ID = f"int(min=1, max={MAX_ID})"
# Attributes copied from the rows; the views add links and counts.
_SEMINAR_FIELDS = tuple(set(SeminarOutput().fields) - {"counts", "public_url", "feed_url", "anonymise_after"})
_ORGANISER_FIELDS = tuple(set(OrganiserOutput().fields) - {"feed_url"})
_REGISTRATION_FIELDS = tuple(set(RegistrationOutput().fields) - {"notifications"})


@manage_api.errorhandler(RegistrationRefused)
@manage_api.errorhandler(AccountError)
def _refused(refused):
    return problem(refused.status, refused.code)


def _runtime():
    return current_app.extensions["runtime"]


def requires(role: Role):
    """Decorator: a bearer token with at least ``role`` (checked before the input); documented in the spec."""

    def decorate(view):
        return manage_api.doc(security=BEARER)(api_principal(role)(view))

    return decorate


def seminar_view(seminar: Seminar, counts: SeminarCounts, organiser: Organiser) -> dict:
    """A seminar with its counts, the links an organiser copies and when its registrations are anonymised."""
    settings = _runtime().settings
    view = {name: getattr(seminar, name) for name in _SEMINAR_FIELDS}
    feed = seminar_feed_url(settings, seminar.id)
    view.update(counts=counts, public_url=seminar_page_url(settings, seminar.id), feed_url=feed,
                anonymise_after=privacy.anonymise_after(seminar, organiser))
    return view


def one_seminar_view(by, seminar_id: int) -> dict:
    """One of the organiser's seminars as the API answers with it."""
    runtime = _runtime()
    return seminar_view(*management.get_seminar(runtime, by, seminar_id), management.get_organiser(runtime, by))


def series_view(series: Series) -> dict:
    """A series with its public feed address."""
    return {"id": series.id, "slug": series.slug, "title": series.title, "description": series.description,
            "feed_url": series_feed_url(_runtime().settings, series.slug)}


# --- organiser ---------------------------------------------------------------------------


@manage_api.route("/organiser")
class OrganiserSettings(MethodView):
    @requires(VIEW)
    @manage_api.response(200, OrganiserOutput)
    def get(self, by):
        """The organiser this token belongs to."""
        return _organiser_view(management.get_organiser(_runtime(), by))

    @requires(ADMIN)
    @manage_api.arguments(OrganiserInput(partial=True))
    @manage_api.response(200, OrganiserOutput)
    def patch(self, data, by):
        """Change contact, privacy link, partner origins allowed to embed, retention days (admins)."""
        return _organiser_view(management.update_organiser(_runtime(), by, data))


def _organiser_view(organiser) -> dict:
    view = {name: getattr(organiser, name) for name in _ORGANISER_FIELDS}
    view["feed_url"] = organiser_feed_url(_runtime().settings, organiser.slug)
    return view


# --- series ------------------------------------------------------------------------------


@manage_api.route("/series")
class SeriesCollection(MethodView):
    @requires(VIEW)
    @manage_api.response(200, SeriesOutput(many=True))
    def get(self, by):
        """The organiser's series."""
        return [series_view(series) for series in management.list_series(_runtime(), by)]

    @requires(EDIT)
    @manage_api.arguments(SeriesInput)
    @manage_api.response(201, SeriesOutput)
    def post(self, data, by):
        """Create a series (its slug names its public feed)."""
        return series_view(management.create_series(_runtime(), by, data))


@manage_api.route(f"/series/<{ID}:series_id>")
class SeriesItem(MethodView):
    @requires(VIEW)
    @manage_api.response(200, SeriesOutput)
    def get(self, series_id, by):
        """One series."""
        return series_view(management.get_series(_runtime(), by, series_id))

    @requires(EDIT)
    @manage_api.arguments(SeriesPatch(partial=True))
    @manage_api.response(200, SeriesOutput)
    def patch(self, data, series_id, by):
        """Change a series."""
        return series_view(management.update_series(_runtime(), by, series_id, data))

    @requires(EDIT)
    @manage_api.response(204)
    def delete(self, series_id, by):
        """Delete a series; its seminars stay."""
        management.delete_series(_runtime(), by, series_id)


# --- seminars ----------------------------------------------------------------------------


@manage_api.route("/events")
class SeminarCollection(MethodView):
    @requires(VIEW)
    @manage_api.arguments(SeminarList, location="query")
    @manage_api.response(200, SeminarOutput(many=True))
    def get(self, filters, by):
        """The organiser's seminars, drafts and past ones included, latest first."""
        rows = management.list_seminars(_runtime(), by, series_id=filters.get("series_id"))
        organiser = management.get_organiser(_runtime(), by)
        return [seminar_view(seminar, counts, organiser) for seminar, counts in rows]

    @requires(EDIT)
    @manage_api.arguments(SeminarInput)
    @manage_api.response(201, SeminarOutput)
    def post(self, data, by):
        """Create a seminar (a draft unless ``publish`` is true)."""
        seminar = management.create_seminar(_runtime(), by, data)
        return one_seminar_view(by, seminar.id)


@manage_api.route(f"/events/<{ID}:event_id>")
class SeminarItem(MethodView):
    @requires(VIEW)
    @manage_api.response(200, SeminarOutput)
    def get(self, event_id, by):
        """One seminar with its join link, rules, questions and counts."""
        return one_seminar_view(by, event_id)

    @requires(EDIT)
    @manage_api.arguments(SeminarPatch(partial=True, exclude=("publish",)))
    @manage_api.response(200, SeminarOutput)
    def patch(self, data, event_id, by):
        """Change a seminar. For a published one a new time, place or join link is sent to participants."""
        management.update_seminar(_runtime(), by, event_id, data)
        return one_seminar_view(by, event_id)

    @requires(EDIT)
    @manage_api.response(204)
    def delete(self, event_id, by):
        """Delete a seminar without registrations (one with registrations must be cancelled)."""
        management.delete_seminar(_runtime(), by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/publish", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, SeminarOutput)
def publish(event_id, by):
    """Publish a draft seminar."""
    management.publish_seminar(_runtime(), by, event_id)
    return one_seminar_view(by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/move", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(SeminarMove)
@manage_api.response(200, SeminarOutput)
def move(data, event_id, by):
    """Move a seminar (time, place, join link): participants get a change mail, feeds update."""
    move_seminar(_runtime(), event_id, by=by, **data)
    return one_seminar_view(by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/cancel", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, SeminarOutput)
def cancel(event_id, by):
    """Cancel a seminar: every participant gets the cancellation mail; the feeds mark it cancelled."""
    cancel_seminar(_runtime(), event_id, by=by)
    return one_seminar_view(by, event_id)


# --- registrations -----------------------------------------------------------------------


@manage_api.route(f"/events/<{ID}:event_id>/registrations")
@requires(VIEW)
@manage_api.arguments(RegistrationQuery, location="query")
@manage_api.response(200, RegistrationPage)
def registrations(filters, event_id, by):
    """The seminar's registrations in order of arrival; filter by status and name or address."""
    total, page = management.list_registrations(
        _runtime(), by, event_id, statuses=filters["status"], search=filters["q"],
        limit=filters["limit"], offset=filters["offset"],
    )
    return {"total": total, "registrations": [_registration_view(r) for r in page]}


@manage_api.route(f"/registrations/<{ID}:registration_id>")
@requires(VIEW)
@manage_api.response(200, RegistrationOutput)
def registration(registration_id, by):
    """One registration with the status of each of its mails (failed ones with the reason)."""
    return _registration_view(management.get_registration(_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/cancel", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, RegistrationOutput)
def cancel_registration(registration_id, by):
    """Cancel a registration; the seat goes to the next person on the waiting list."""
    management.cancel_by_organiser(_runtime(), by, registration_id)
    return _registration_view(management.get_registration(_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/promote", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, RegistrationOutput)
def promote(registration_id, by):
    """Give this waiting person a free seat now, ahead of the queue."""
    return _registration_view(management.promote(_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/resend", methods=["POST"])
@requires(EDIT)
@manage_api.response(202, RegistrationOutput)
def resend(registration_id, by):
    """Send the mail that fits the registration's status once more."""
    management.resend_mail(_runtime(), by, registration_id)
    return _registration_view(management.get_registration(_runtime(), by, registration_id))


def _registration_view(registration) -> dict:
    view = {name: getattr(registration, name) for name in _REGISTRATION_FIELDS}
    view["notifications"] = management.notifications_of(registration)
    return view


# --- exports and audit -------------------------------------------------------------------


@manage_api.route(f"/events/<{ID}:event_id>/registrations.<any(csv, xlsx):fmt>")
@requires(VIEW)
@manage_api.arguments(ExportQuery, location="query")
@manage_api.response(200, description="CSV (UTF-8 with BOM, ; by default) or XLSX attendee list")
def export_seminar(filters, event_id, fmt, by):
    """Export the seminar's attendees as CSV (for German Excel) or XLSX."""
    return attendee_export(by, "seminar", event_id, fmt, filters)


@manage_api.route(f"/series/<{ID}:series_id>/registrations.<any(csv, xlsx):fmt>")
@requires(VIEW)
@manage_api.arguments(ExportQuery, location="query")
@manage_api.response(200, description="CSV or XLSX attendee list of every seminar of the series")
def export_series(filters, series_id, fmt, by):
    """Export the attendees of every seminar of a series."""
    return attendee_export(by, "series", series_id, fmt, filters)


def attendee_export(by, subject_type: str, subject_id: int, fmt: str, filters: dict) -> Response:
    """Stream an export and note it in the audit log (the API and the pages both use this)."""
    runtime = _runtime()
    scope = {"seminar_id": subject_id} if subject_type == "seminar" else {"series_id": subject_id}
    try:
        export = export_attendees(
            runtime.sessions, organiser_id=by.organiser_id, fmt=fmt, statuses=filters["status"] or None,
            delimiter=filters["delimiter"], language=filters["lang"], **scope,
        )
    except LookupError:
        raise RegistrationRefused(f"{subject_type}_not_found", 404) from None
    management.log_export(runtime, by, subject_type, subject_id, fmt, filters["status"])
    response = Response(export.chunks, mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export.filename)}"
    # Personal data: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@manage_api.route("/audit")
@requires(ADMIN)
@manage_api.response(200, AuditOutput(many=True))
def audit_log(by):
    """Who changed, cancelled or exported what, newest first (admins)."""
    return recent_events(_runtime(), by.organiser_id)


# --- requests from a person (DSGVO Art. 15 and 17) --------------------------------------------

PERSON_ENDPOINTS = ("manage_api.person", "manage_api.erase_person")
REPORT_FILENAME = "auskunft.json"


@manage_api.after_request
def _never_stored(response: Response) -> Response:
    """A person's data is never kept by a browser or proxy cache (refusals included: one rule is simpler)."""
    if request.endpoint in PERSON_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


@manage_api.route("/people")
@requires(ADMIN)
@manage_api.arguments(PersonQuery, location="query")
@manage_api.response(200, PersonReport)
def person(query, by):
    """Everything stored about an address for this organiser: registrations, answers, consent, mails (admins)."""
    headers = {"Content-Disposition": f'attachment; filename="{REPORT_FILENAME}"'} if query["download"] else {}
    return person_report_view(by, query["email"]), 200, headers


def person_report_view(by, email: str) -> dict:
    """The person report with each registration's seminar and mails (the API and the pages both use this)."""
    report = privacy.person_report(_runtime(), by, email)
    report["registrations"] = [{**_registration_view(registration), "seminar": registration.seminar}
                               for registration in report["registrations"]]
    return report


@manage_api.route("/people/erase", methods=["POST"])
@requires(ADMIN)
@manage_api.arguments(PersonErase)
@manage_api.response(200, ErasureOutput)
def erase_person(data, by):
    """Anonymise all of this organiser's registrations of an address; their seats go to the waiting list (admins)."""
    return {"registrations": privacy.erase_person(_runtime(), by, data["email"])}
