"""What the organiser API and the organiser pages show of the domain's rows: views with links, exports, reports.

Both controllers answer with these, so a seminar, an attendee list or a person's
report looks the same in JSON and on a page, and neither controller imports the other.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from markupsafe import escape

from shared.links import organiser_feed_url, seminar_feed_url, seminar_page_url, series_feed_url
from shared.models import Organiser, Registration, Seminar, Series, WebhookEndpoint
from services.registration.accounts.principals import Principal
from services.registration.domain.attendees import log_export, notifications_of
from services.registration.domain.data_requests import person_report
from services.registration.domain.organisers import get_organiser
from services.registration.domain.retention import anonymise_after
from services.registration.domain.seminars import SeminarCounts, get_seminar
from services.registration.manage.exports import export_attendees
from services.registration.manage.schemas import OrganiserOutput, RegistrationOutput, SeminarOutput
from services.registration.web.context import current_runtime

# The file name of a person's report (Art. 15 DSGVO).
REPORT_FILENAME = "auskunft.json"
# Attributes copied from the rows; the views add links and counts.
_SEMINAR_FIELDS = tuple(set(SeminarOutput().fields) - {"counts", "public_url", "feed_url", "anonymise_after"})
_ORGANISER_FIELDS = tuple(set(OrganiserOutput().fields) - {"feed_url"})
_REGISTRATION_FIELDS = tuple(set(RegistrationOutput().fields) - {"notifications"})


def seminar_view(seminar: Seminar, counts: SeminarCounts, organiser: Organiser) -> dict:
    """A seminar with its counts, the links an organiser copies and when its registrations are anonymised."""
    settings = current_runtime().settings
    view = {name: getattr(seminar, name) for name in _SEMINAR_FIELDS}
    view.update(counts=counts, public_url=seminar_page_url(settings, seminar.id),
                feed_url=seminar_feed_url(settings, seminar.id), anonymise_after=anonymise_after(seminar, organiser))
    return view


def one_seminar_view(by: Principal, seminar_id: int) -> dict:
    """One of the organiser's seminars as the API answers with it."""
    runtime = current_runtime()
    return seminar_view(*get_seminar(runtime, by, seminar_id), get_organiser(runtime, by))


def series_view(series: Series) -> dict:
    """A series with its public feed address."""
    return {"id": series.id, "slug": series.slug, "title": series.title, "description": series.description,
            "feed_url": series_feed_url(current_runtime().settings, series.slug)}


def organiser_view(organiser: Organiser) -> dict:
    """The organiser's settings with its public feed address."""
    view = {name: getattr(organiser, name) for name in _ORGANISER_FIELDS}
    view["feed_url"] = organiser_feed_url(current_runtime().settings, organiser.slug)
    return view


def registration_view(registration: Registration) -> dict:
    """A registration with its mails, oldest first."""
    view = {name: getattr(registration, name) for name in _REGISTRATION_FIELDS}
    view["notifications"] = notifications_of(registration)
    return view


def webhook_view(endpoint: WebhookEndpoint, secret: str | None = None) -> dict:
    """An endpoint with whether it is on; with its secret only when it was just made."""
    view = {name: getattr(endpoint, name) for name in ("id", "url", "description", "events", "disabled_at",
                                                       "failing_since", "previous_secret_until", "created_at")}
    view["enabled"] = endpoint.disabled_at is None
    if secret is not None:
        view["secret"] = secret
    return view


def person_report_view(by: Principal, email: str) -> dict:
    """The person report with each registration's seminar and mails."""
    report = person_report(current_runtime(), by, email)
    report["registrations"] = [{**registration_view(registration), "seminar": registration.seminar}
                               for registration in report["registrations"]]
    return report


def attendee_export(by: Principal, subject_type: str, subject_id: int, fmt: str, filters: dict) -> Response:
    """Stream an attendee list of a seminar or series and note it in the audit log.

    ``filters`` is ``ExportQuery``'s data: statuses, delimiter, language.
    """
    runtime = current_runtime()
    scope = {"seminar_id": subject_id} if subject_type == "seminar" else {"series_id": subject_id}
    export = export_attendees(
        runtime.sessions, by=by, fmt=fmt, statuses=filters["status"] or None,
        delimiter=filters["delimiter"], language=filters["lang"], **scope,
    )
    log_export(runtime, by, subject_type, subject_id, fmt, filters["status"])
    response = Response(export.chunks, mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export.filename)}"
    # Personal data: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def embed_snippets(title: str, event_id: int | None = None, series_slug: str | None = None) -> dict[str, str]:
    """The HTML a partner pastes to embed a seminar or a series: the widget, and the iframe fallback."""
    base = current_runtime().settings.registration_base_url
    if event_id is not None:
        element = f'<seminar-registration event="{event_id}"></seminar-registration>'
        path = f"/embed/events/{event_id}"
    else:
        element = f'<seminar-registration series="{escape(series_slug)}"></seminar-registration>'
        path = f"/embed/series/{quote(series_slug or '')}"
    # The listener fits the frame to the height the embedded page reports; without
    # it the frame keeps its fixed height and scrolls.
    listener = (
        '<script>addEventListener("message", function (e) {\n'
        f'  if (e.origin !== "{base}" || !e.data || e.data.type !== "seminare:height") return;\n'
        '  document.querySelectorAll("iframe").forEach(function (f) {\n'
        '    if (f.contentWindow === e.source) f.style.height = e.data.height + "px";\n'
        "  });\n"
        "});</script>"
    )
    return {
        "widget": f'<script src="{base}/widget.js" async></script>\n{element}',
        # German like the widget, whatever the visitor's browser prefers; lang=en for English.
        "iframe": f'<iframe src="{base}{path}?lang=de" title="{escape(title)}"'
                  f' style="width: 100%; height: 900px; border: 0" loading="lazy"></iframe>\n{listener}',
    }
