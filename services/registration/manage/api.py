"""The organiser API under /api/v1/manage: bearer tokens, one organiser per token.

Routes are thin: they check the token's role, validate with a schema, call one
domain function and answer with its view (``views``).
"""

from __future__ import annotations

import json

from flask import Response, request, url_for
from flask.views import MethodView

from shared.models import MAX_ID, Role
from services.registration.accounts.audit import recent_events
from services.registration.domain import waiting_list, webhooks
from services.registration.domain.attendees import get_registration, list_registrations, resend_mail
from services.registration.domain.data_requests import erase_person as erase_person_data
from services.registration.domain.organisers import get_organiser, update_organiser
from services.registration.domain.registrations import cancel_registration as cancel_for_participant
from services.registration.domain.seminar_changes import cancel_seminar, move_seminar
from services.registration.domain.seminar_copies import duplicate_seminar, preview_repeat, repeat_seminar
from services.registration.domain.seminars import (
    create_seminar,
    delete_seminar,
    list_seminars,
    publish_seminar,
    update_seminar,
)
from services.registration.domain.series import create_series, delete_series, get_series, list_series, update_series
from services.registration.manage.auth import api_principal
from services.registration.manage.schemas import (
    AuditOutput,
    AuditQuery,
    ErasureOutput,
    ExportQuery,
    OrganiserInput,
    OrganiserOutput,
    ParticipantNotice,
    PersonErase,
    PersonQuery,
    PersonReport,
    RegistrationOutput,
    RegistrationPage,
    RegistrationQuery,
    RepeatPreview,
    SeminarInput,
    SeminarList,
    SeminarMove,
    SeminarOutput,
    SeminarPatch,
    SeminarRepeat,
    SeriesInput,
    SeriesOutput,
    SeriesPatch,
    WebhookCreated,
    WebhookDeliveryOutput,
    WebhookInput,
    WebhookOutput,
    WebhookPatch,
    WebhookSecret,
    WebhookTestOutput,
)
from services.registration.manage.views import (
    REPORT_FILENAME,
    attendee_export,
    one_seminar_view,
    organiser_view,
    person_report_view,
    registration_view,
    seminar_view,
    series_view,
    webhook_view,
)
from services.registration.web.context import current_runtime
from services.registration.web.json_body import Blueprint

manage_api = Blueprint(
    "manage_api", __name__, url_prefix="/api/v1/manage",
    description="Seminare verwalten (Bearer-Token einer Organisation)",
)
VIEW, EDIT, ADMIN = Role.VIEWER, Role.EDITOR, Role.ADMIN
BEARER = [{"bearerAuth": []}]
# Ids in URLs: a number outside the database's id range names nothing (404, not 500).
ID = f"int(min=1, max={MAX_ID})"


def requires(role: Role):
    """Decorator: a bearer token with at least ``role`` (checked before the input); documented in the spec."""

    def decorate(view):
        return manage_api.doc(security=BEARER)(api_principal(role)(view))

    return decorate


# --- organiser ---------------------------------------------------------------------------


@manage_api.route("/organiser")
class OrganiserSettings(MethodView):
    @requires(VIEW)
    @manage_api.response(200, OrganiserOutput)
    def get(self, by):
        """The organiser this token belongs to."""
        return organiser_view(get_organiser(current_runtime(), by))

    @requires(ADMIN)
    @manage_api.arguments(OrganiserInput(partial=True))
    @manage_api.response(200, OrganiserOutput)
    def patch(self, data, by):
        """Change contact, privacy link, partner origins allowed to embed, retention days (admins)."""
        return organiser_view(update_organiser(current_runtime(), by, data))


# --- series ------------------------------------------------------------------------------


@manage_api.route("/series")
class SeriesCollection(MethodView):
    @requires(VIEW)
    @manage_api.response(200, SeriesOutput(many=True))
    def get(self, by):
        """The organiser's series."""
        return [series_view(series) for series in list_series(current_runtime(), by)]

    @requires(EDIT)
    @manage_api.arguments(SeriesInput)
    @manage_api.response(201, SeriesOutput)
    def post(self, data, by):
        """Create a series (its slug names its public feed)."""
        return series_view(create_series(current_runtime(), by, data))


@manage_api.route(f"/series/<{ID}:series_id>")
class SeriesItem(MethodView):
    @requires(VIEW)
    @manage_api.response(200, SeriesOutput)
    def get(self, series_id, by):
        """One series."""
        return series_view(get_series(current_runtime(), by, series_id))

    @requires(EDIT)
    @manage_api.arguments(SeriesPatch(partial=True))
    @manage_api.response(200, SeriesOutput)
    def patch(self, data, series_id, by):
        """Change a series."""
        return series_view(update_series(current_runtime(), by, series_id, data))

    @requires(EDIT)
    @manage_api.response(204)
    def delete(self, series_id, by):
        """Delete a series; its seminars stay."""
        delete_series(current_runtime(), by, series_id)


# --- seminars ----------------------------------------------------------------------------


@manage_api.route("/events")
class SeminarCollection(MethodView):
    @requires(VIEW)
    @manage_api.arguments(SeminarList, location="query")
    @manage_api.response(200, SeminarOutput(many=True))
    def get(self, filters, by):
        """The organiser's seminars, drafts and past ones included, latest first."""
        rows = list_seminars(current_runtime(), by, series_id=filters.get("series_id"))
        organiser = get_organiser(current_runtime(), by)
        return [seminar_view(seminar, counts, organiser) for seminar, counts in rows]

    @requires(EDIT)
    @manage_api.arguments(SeminarInput)
    @manage_api.response(201, SeminarOutput)
    def post(self, data, by):
        """Create a seminar (a draft unless ``publish`` is true)."""
        seminar = create_seminar(current_runtime(), by, data)
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
        update_seminar(current_runtime(), by, event_id, data)
        return one_seminar_view(by, event_id)

    @requires(EDIT)
    @manage_api.response(204)
    def delete(self, event_id, by):
        """Delete a seminar without registrations (one with registrations must be cancelled)."""
        delete_seminar(current_runtime(), by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/duplicate", methods=["POST"])
@requires(EDIT)
@manage_api.response(201, SeminarOutput)
def duplicate(event_id, by):
    """Copy a seminar as a draft with all its rules and questions (no registrations)."""
    return one_seminar_view(by, duplicate_seminar(current_runtime(), by, event_id))


@manage_api.route(f"/events/<{ID}:event_id>/repeat/preview", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(SeminarRepeat)
@manage_api.response(200, RepeatPreview)
def repeat_preview(data, event_id, by):
    """The dates ``repeat`` would create with this rhythm, at the seminar's local time; nothing is created."""
    dates = preview_repeat(current_runtime(), by, event_id, data)
    return {"dates": [{"starts_at": starts_at, "ends_at": ends_at} for starts_at, ends_at in dates]}


@manage_api.route(f"/events/<{ID}:event_id>/repeat", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(SeminarRepeat)
@manage_api.response(201, SeminarOutput(many=True))
def repeat(data, event_id, by):
    """Create drafts like the seminar on repeating dates (weekly or monthly), DST-correct; answers the drafts."""
    ids = repeat_seminar(current_runtime(), by, event_id, data)
    return [one_seminar_view(by, seminar_id) for seminar_id in ids]


@manage_api.route(f"/events/<{ID}:event_id>/publish", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, SeminarOutput)
def publish(event_id, by):
    """Publish a draft seminar."""
    publish_seminar(current_runtime(), by, event_id)
    return one_seminar_view(by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/move", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(SeminarMove)
@manage_api.response(200, SeminarOutput)
def move(data, event_id, by):
    """Move a seminar (time, place, join link): participants get a change mail, feeds update."""
    move_seminar(current_runtime(), event_id, by=by, **data)
    return one_seminar_view(by, event_id)


@manage_api.route(f"/events/<{ID}:event_id>/cancel", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(ParticipantNotice)
@manage_api.response(200, SeminarOutput)
def cancel(data, event_id, by):
    """Cancel a seminar: every participant gets the cancellation mail with the message; the feeds mark it cancelled."""
    cancel_seminar(current_runtime(), event_id, by=by, message=data["message"])
    return one_seminar_view(by, event_id)


# --- registrations -----------------------------------------------------------------------


@manage_api.route(f"/events/<{ID}:event_id>/registrations")
@requires(VIEW)
@manage_api.arguments(RegistrationQuery, location="query")
@manage_api.response(200, RegistrationPage)
def registrations(filters, event_id, by):
    """The seminar's registrations in order of arrival; filter by status and name or address."""
    total, page = list_registrations(
        current_runtime(), by, event_id, statuses=filters["status"], search=filters["q"],
        limit=filters["limit"], offset=filters["offset"],
    )
    return {"total": total, "registrations": [registration_view(r) for r in page]}


@manage_api.route(f"/registrations/<{ID}:registration_id>")
@requires(VIEW)
@manage_api.response(200, RegistrationOutput)
def registration(registration_id, by):
    """One registration with the status of each of its mails (failed ones with the reason)."""
    return registration_view(get_registration(current_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/cancel", methods=["POST"])
@requires(EDIT)
@manage_api.arguments(ParticipantNotice)
@manage_api.response(200, RegistrationOutput)
def cancel_registration(data, registration_id, by):
    """Cancel a registration; the seat goes to the next person on the waiting list, the person gets a receipt."""
    cancel_for_participant(current_runtime(), registration_id, by=by, message=data["message"])
    return registration_view(get_registration(current_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/promote", methods=["POST"])
@requires(EDIT)
@manage_api.response(200, RegistrationOutput)
def promote(registration_id, by):
    """Give this waiting person a free seat now, ahead of the queue."""
    waiting_list.promote(current_runtime(), by, registration_id)
    return registration_view(get_registration(current_runtime(), by, registration_id))


@manage_api.route(f"/registrations/<{ID}:registration_id>/resend", methods=["POST"])
@requires(EDIT)
@manage_api.response(202, RegistrationOutput)
def resend(registration_id, by):
    """Send the mail that fits the registration's status once more."""
    resend_mail(current_runtime(), by, registration_id)
    return registration_view(get_registration(current_runtime(), by, registration_id))


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


@manage_api.route("/audit")
@requires(ADMIN)
@manage_api.arguments(AuditQuery, location="query")
@manage_api.response(200, AuditOutput(many=True), headers={"Link": {
    "description": 'The next, older page: <…/audit?before=ID&limit=N>; rel="next" (absent on the last page)',
    "schema": {"type": "string"}}})
def audit_log(query, by):
    """Who changed, cancelled or exported what, newest first, one page (admins)."""
    page = recent_events(current_runtime(), by.organiser_id, before=query.get("before"), limit=query["limit"])
    headers = {}
    if page.older is not None:
        headers["Link"] = f'<{url_for("manage_api.audit_log", before=page.older, limit=query["limit"])}>; rel="next"'
    return page.events, 200, headers


# --- webhooks ------------------------------------------------------------------------------------


@manage_api.route("/webhooks")
class WebhookCollection(MethodView):
    @requires(ADMIN)
    @manage_api.response(200, WebhookOutput(many=True))
    def get(self, by):
        """The organiser's webhook endpoints (admins)."""
        return [webhook_view(endpoint) for endpoint in webhooks.list_endpoints(current_runtime(), by)]

    @requires(ADMIN)
    @manage_api.arguments(WebhookInput)
    @manage_api.response(201, WebhookCreated)
    def post(self, data, by):
        """Add an endpoint; the answer holds its signing secret, shown this once (admins)."""
        endpoint, secret = webhooks.create_endpoint(current_runtime(), by, data)
        return webhook_view(endpoint, secret)


@manage_api.route(f"/webhooks/<{ID}:webhook_id>")
class WebhookItem(MethodView):
    @requires(ADMIN)
    @manage_api.response(200, WebhookOutput)
    def get(self, webhook_id, by):
        """One endpoint (admins)."""
        return webhook_view(webhooks.get_endpoint(current_runtime(), by, webhook_id))

    @requires(ADMIN)
    @manage_api.arguments(WebhookPatch(partial=True))
    @manage_api.response(200, WebhookOutput)
    def patch(self, data, webhook_id, by):
        """Change URL, events or description; ``enabled`` turns it off or on again (admins)."""
        return webhook_view(webhooks.update_endpoint(current_runtime(), by, webhook_id, data))

    @requires(ADMIN)
    @manage_api.response(204)
    def delete(self, webhook_id, by):
        """Remove an endpoint and its delivery log (admins)."""
        webhooks.delete_endpoint(current_runtime(), by, webhook_id)


@manage_api.route(f"/webhooks/<{ID}:webhook_id>/rotate-secret", methods=["POST"])
@requires(ADMIN)
@manage_api.response(200, WebhookSecret)
def rotate_webhook_secret(webhook_id, by):
    """A new signing secret, shown this once; the old one signs too for 24 hours (admins)."""
    return {"secret": webhooks.rotate_secret(current_runtime(), by, webhook_id)}


@manage_api.route(f"/webhooks/<{ID}:webhook_id>/test", methods=["POST"])
@requires(ADMIN)
@manage_api.response(202, WebhookTestOutput)
def send_webhook_test(webhook_id, by):
    """Send a webhook.test event to this endpoint now; the answer shows the body it gets (admins)."""
    runtime = current_runtime()
    delivery_id = webhooks.send_test_event(runtime, by, webhook_id)
    delivery = next(d for d in webhooks.list_deliveries(runtime, by, webhook_id, limit=5) if d.id == delivery_id)
    return {"delivery_id": delivery_id, "payload": json.loads(delivery.payload)}


@manage_api.route(f"/webhooks/<{ID}:webhook_id>/deliveries")
@requires(ADMIN)
@manage_api.response(200, WebhookDeliveryOutput(many=True))
def webhook_deliveries(webhook_id, by):
    """The endpoint's latest deliveries, newest first: status, attempts, the last answer, the next try (admins)."""
    return webhooks.list_deliveries(current_runtime(), by, webhook_id)


@manage_api.route(f"/webhooks/<{ID}:webhook_id>/deliveries/<{ID}:delivery_id>/redeliver", methods=["POST"])
@requires(ADMIN)
@manage_api.response(202, WebhookDeliveryOutput)
def redeliver_webhook(webhook_id, delivery_id, by):
    """Send a delivery again, with the same event id and body (admins)."""
    return webhooks.redeliver(current_runtime(), by, webhook_id, delivery_id)


# --- requests from a person (DSGVO Art. 15 and 17) --------------------------------------------

PERSON_ENDPOINTS = ("manage_api.person", "manage_api.erase_person")


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


@manage_api.route("/people/erase", methods=["POST"])
@requires(ADMIN)
@manage_api.arguments(PersonErase)
@manage_api.response(200, ErasureOutput)
def erase_person(data, by):
    """Anonymise all of this organiser's registrations of an address; their seats go to the waiting list (admins)."""
    return {"registrations": erase_person_data(current_runtime(), by, data["email"])}
