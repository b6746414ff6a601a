"""Server-rendered pages: seminar list, seminar page with its form, the participant's own page."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, redirect, render_template, url_for

from shared.db import read_session
from shared.ical import google_calendar_url, make_calendar, outlook_calendar_url, seminar_event
from shared.links import (
    google_subscribe_url,
    outlook_subscribe_url,
    personal_feed_url,
    series_feed_url,
    webcal_url,
)
from shared.models import Registration, RegistrationStatus
from shared.texts import paragraphs
from shared.times import format_lead_times
from shared.tokens import REGISTRATION_PAGE, read_token
from services.registration.domain.joining import JOIN_OPENS_BEFORE, may_join_now
from services.registration.domain.public_seminars import list_public_seminars
from services.registration.domain.registrations import cancel_registration, confirm_address, renew_feed_link
from services.registration.public.registration_form import (
    render_registered,
    render_seminar,
    resend_from_registered,
    submit_form,
)
from services.registration.web.context import current_runtime, page_language

pages = Blueprint("pages", __name__, template_folder="templates")

pages.add_app_template_filter(paragraphs, "paragraphs")


@pages.get("/")
def index():
    """Start page: the upcoming seminars with links to their registration forms."""
    with read_session(current_runtime().sessions) as session:
        seminars = list_public_seminars(session)
        return render_template("index.html", seminars=seminars)


@pages.get("/events/<int:event_id>")
def seminar_page(event_id: int):
    """A seminar's public page with its registration form."""
    return render_seminar(event_id)


@pages.post("/events/<int:event_id>")
def seminar_form_post(event_id: int):
    """Registration by plain form post (works without JavaScript)."""
    language = page_language()
    posted = submit_form(event_id, language)
    if posted.status:
        return redirect(url_for("pages.registered", event_id=event_id, status=posted.status, lang=language,
                                t=posted.page_token))
    return render_seminar(event_id, errors=posted.errors, values=posted.values, form_problem=posted.problem,
                          status=posted.http_status)


@pages.get("/events/<int:event_id>/registered")
def registered(event_id: int):
    """What happens next after a registration."""
    return render_registered(event_id)


@pages.post("/events/<int:event_id>/registered/resend")
def resend(event_id: int):
    """Send the registration's mail again (limited; see ``participant_resend``)."""
    return resend_from_registered(event_id, "pages.registered")


@pages.get("/r/<token>")
def participant_page(token: str):
    """The participant's own page: status, seminar, calendar links, confirm and cancel."""
    registration = _registration_for(token)
    settings = current_runtime().settings
    seminar = registration.seminar
    feed_url = personal_feed_url(settings, registration.id, registration.feed_nonce)
    return render_template(
        "participant.html",
        registration=registration,
        seminar=seminar,
        token=token,
        google_url=google_calendar_url(seminar, settings),
        outlook_url=outlook_calendar_url(seminar, settings),
        join_now=may_join_now(registration),
        join_opens=format_lead_times([JOIN_OPENS_BEFORE // timedelta(minutes=1)], page_language()),
        lead_times=format_lead_times(seminar.reminder_offsets or [], page_language()),
        feed=_subscription_links(feed_url, "Meine Seminare"),
        series_feed=_subscription_links(series_feed_url(settings, seminar.series.slug), seminar.series.title)
        if seminar.series else None,
    )


def _subscription_links(feed_url: str, name: str) -> dict[str, str]:
    return {
        "https": feed_url,
        "webcal": webcal_url(feed_url),
        "google": google_subscribe_url(feed_url),
        "outlook": outlook_subscribe_url(feed_url, name),
    }


@pages.post("/r/<token>/feed")
def renew_feed(token: str):
    """Give the personal calendar feed a new address; the old one stops working at once."""
    registration = _registration_for(token)
    renew_feed_link(current_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language, _anchor="abo"))


@pages.post("/r/<token>/confirm")
def confirm(token: str):
    """Confirm the email address (a POST, since mail scanners follow GET links)."""
    registration = _registration_for(token)
    confirm_address(current_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language))


@pages.get("/r/<token>/cancel")
def cancel_question(token: str):
    """Ask once more before cancelling: one click in a mail must not cancel by itself."""
    registration = _registration_for(token)
    return render_template("cancel.html", registration=registration, seminar=registration.seminar, token=token)


@pages.post("/r/<token>/cancel")
def cancel(token: str):
    """Cancel the registration or leave the waiting list; doing it twice is harmless."""
    registration = _registration_for(token)
    cancel_registration(current_runtime(), registration.id)
    return redirect(url_for("pages.participant_page", token=token, lang=registration.language))


@pages.get("/r/<token>/seminar.ics")
def calendar_entry(token: str):
    """The seminar as a calendar file, with the join link once the seat is confirmed."""
    registration = _registration_for(token)
    seminar = registration.seminar
    settings = current_runtime().settings
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    event = seminar_event(seminar, settings, join_url=seminar.join_url if confirmed else None)
    calendar = make_calendar(seminar.title, f"registration-{registration.id}@{settings.public_host}", [event])
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="seminar.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _registration_for(token: str) -> Registration:
    """The registration a participant's signed link names; 404 for a forged, revoked or anonymised one."""
    runtime = current_runtime()
    found = read_token(runtime.settings.secret_key, REGISTRATION_PAGE, token)
    if found is None:
        abort(404)
    registration_id, nonce = found
    with read_session(runtime.sessions) as session:
        registration = session.get(Registration, registration_id)
        if registration is None or registration.token_nonce != nonce or registration.anonymised_at:
            abort(404)
        # Load what the pages show while the session is open.
        registration.seminar.organiser, registration.seminar.series
        return registration

