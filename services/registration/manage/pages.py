"""Organiser web pages under /manage: log in, seminars, attendees, exports, series, tokens, webhooks, settings, privacy.

Routes are thin. A post checks the CSRF token first, then the session's role
(``auth.page_principal``: another organiser's pages are 404, a role too low 403),
turns the form fields into the input of the organiser API's schemas and calls one
domain function. What the domain refuses becomes the error page with its status
and text, or an error next to the form field it concerns.
"""

from __future__ import annotations

from types import SimpleNamespace

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    json,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import ValidationError
from werkzeug.exceptions import (
    HTTPException,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
)

from shared.i18n import LANGUAGES, N_
from shared.links import seminar_feed_url, seminar_page_url, series_feed_url
from shared.models import ACTIVE, RegistrationStatus, Role
from shared.problems import Refusal
from shared.times import format_day, local, weekday_name
from services.registration.accounts.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from services.registration.accounts.audit import recent_events
from services.registration.accounts.logins import authenticate
from services.registration.accounts.members import organisers_of
from services.registration.domain import waiting_list, webhooks
from services.registration.domain.attendees import get_registration, list_registrations, notifications_of, resend_mail
from services.registration.domain.data_requests import erase_person
from services.registration.domain.organisers import ORGANISER_SETTINGS, get_organiser, update_organiser
from services.registration.domain.registrations import STATUS_MAIL, cancel_registration
from services.registration.domain.retention import anonymise_after
from services.registration.domain.seminar_changes import cancel_seminar, move_seminar, preview_move
from services.registration.domain.seminar_copies import (
    MOST_REPEATS,
    duplicate_seminar,
    preview_repeat,
    repeat_seminar,
    week_of_month,
)
from services.registration.domain.seminars import (
    create_seminar,
    get_seminar,
    list_seminars,
    publish_seminar,
    update_seminar,
)
from services.registration.domain.series import create_series, list_series
from services.registration.manage.auth import (
    CSRF_FIELD,
    check_csrf,
    csrf_token,
    current_account,
    log_in,
    log_out,
    log_out_everywhere,
    page_principal,
)
from services.registration.manage.exports import STATUS_LABELS
from services.registration.manage.forms import (
    MOVE_REFUSAL_FIELDS,
    FormInvalid,
    blank_seminar,
    form_errors,
    load,
    messages,
    move_input,
    organiser_input,
    present_move_values,
    repeat_input,
    seminar_input,
    seminar_values,
    webhook_input,
)
from services.registration.manage.labels import (
    AUDIT_ACTIONS,
    MAIL_KINDS,
    MAIL_STATUSES,
    ROLES,
    SEMINAR_FORMATS,
    SEMINAR_STATUSES,
    WEBHOOK_EVENTS,
    WEBHOOK_STATUSES,
    label,
)
from services.registration.manage.login_limits import LoginLimits
from services.registration.manage.schemas import (
    ExportQuery,
    ParticipantNotice,
    PersonErase,
    PersonReport,
    SeriesInput,
    TokenInput,
)
from services.registration.manage.views import REPORT_FILENAME, attendee_export, embed_snippets, person_report_view
from services.registration.web.context import current_runtime, page_language, page_plural, page_text

manage_pages = Blueprint("manage_pages", __name__, url_prefix="/manage", template_folder="templates")
VIEW, EDIT, ADMIN = Role.VIEWER, Role.EDITOR, Role.ADMIN

COMMON_ZONES = ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich", "Europe/London", "UTC")


def manage_url(endpoint: str, **values) -> str:
    """url_for that keeps a language chosen with ?lang= from page to page."""
    chosen = request.values.get("lang")
    if chosen in LANGUAGES:
        values.setdefault("lang", chosen)
    return url_for(endpoint, **values)


def _done(message: str, endpoint: str, **values) -> Response:
    """Say what happened on the next page (post, redirect, get); ``message`` is already translated."""
    flash(message)
    return redirect(manage_url(endpoint, **values))


# --- set-up, headers, errors ------------------------------------------------------------------


@manage_pages.record_once
def _set_up_login_limits(state) -> None:
    """Count logins in the app's Redis (``login_limits``)."""
    runtime = state.app.extensions["runtime"]
    state.app.extensions["manage_login_limits"] = LoginLimits(runtime.redis, runtime.settings)


@manage_pages.context_processor
def _helpers() -> dict:
    """What the organiser templates use besides t(), lang and when() of the public pages."""
    language = page_language()
    return {
        "manage_url": manage_url,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "account": current_account(),
        "label": lambda names, key: label(language, names, key),
        "local_time": lambda moment, zone: local(moment, zone).strftime("%d.%m.%Y %H:%M") if moment else "",
        "long_date": lambda day: format_day(day, language),
        "SEMINAR_STATUSES": SEMINAR_STATUSES, "SEMINAR_FORMATS": SEMINAR_FORMATS, "MAIL_KINDS": MAIL_KINDS,
        "MAIL_STATUSES": MAIL_STATUSES, "ROLES": ROLES, "AUDIT_ACTIONS": AUDIT_ACTIONS,
        "WEBHOOK_EVENTS": WEBHOOK_EVENTS, "WEBHOOK_STATUSES": WEBHOOK_STATUSES,
        "anonymise_after": anonymise_after,
        "embed_snippets": embed_snippets,
        "REGISTRATION_STATUSES": STATUS_LABELS,
    }


@manage_pages.errorhandler(Unauthorized)
def _to_login(_error) -> Response:
    """Not logged in: the login page, which leads back to the page asked for."""
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(manage_url("manage_pages.login_form", next=next_path))


# --- logging in and out --------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """A page of this site under /manage to go on to; anything else (another site) goes home."""
    home = url_for("manage_pages.home")
    if not target or not target.isprintable() or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/manage/"):
        return home
    return target


@manage_pages.get("/login")
def login_form():
    """The login form; someone already logged in goes on."""
    if current_account() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("manage/login.html", next=request.args.get("next", ""), email="")


@manage_pages.post("/login")
def login():
    """Log in with email address and password (rate limited per address and per client)."""
    check_csrf()
    limits = current_app.extensions["manage_login_limits"]
    wait = limits.seconds_to_wait()
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
    email = request.form.get("email", "")
    account = authenticate(current_runtime(), email, request.form.get("password", ""))
    if account is None:
        limits.failed()
        # One message for an unknown address and a wrong password: nobody learns which accounts exist.
        return render_template("manage/login.html", failed=True, next=request.form.get("next", ""), email=email)
    log_in(account)
    return redirect(_safe_next(request.form.get("next")))


@manage_pages.post("/logout")
def logout():
    """Log out."""
    check_csrf()
    log_out()
    return _done(page_text("Sie sind abgemeldet."), "manage_pages.login_form")


@manage_pages.post("/logout-everywhere")
def logout_everywhere():
    """End every session of the account, on every device: after a lost phone or a shared computer."""
    check_csrf()
    count = log_out_everywhere()
    return _done(page_plural("Sie sind überall abgemeldet: %(count)s Sitzung beendet.",
                             "Sie sind überall abgemeldet: %(count)s Sitzungen beendet.", count),
                 "manage_pages.login_form")


@manage_pages.get("/")
def home():
    """The organisers the account works for; with only one, its seminars straight away."""
    account = current_account()
    if account is None:
        raise Unauthorized()
    organisers = organisers_of(current_runtime(), account.id)
    if len(organisers) == 1:
        return redirect(manage_url("manage_pages.seminars", org=organisers[0][0].slug))
    return render_template("manage/home.html", organisers=organisers)


@manage_pages.get("/manage.css")
def stylesheet():
    """Layout of the organiser pages (wide tables, buttons) on top of the public pages' style."""
    return Response(render_template("manage/manage.css"), mimetype="text/css")


# --- seminars ----------------------------------------------------------------------------------


def _render(template: str, org: str, by, status: int = 200, **context):
    """A page of one organiser, with its name and the role's navigation."""
    organiser = get_organiser(current_runtime(), by)
    return render_template(template, org=org, organiser=organiser, role=by.role, **context), status


@manage_pages.get("/<org>/")
def seminars(org: str):
    """The organiser's seminars, latest first, with seats, waiting list and unconfirmed ones."""
    by = page_principal(org, VIEW)
    return _render("manage/seminars.html", org, by, rows=list_seminars(current_runtime(), by))


@manage_pages.get("/<org>/seminars/new")
def new_seminar(org: str):
    """An empty seminar form."""
    by = page_principal(org, EDIT)
    return _seminar_form(org, by, None, blank_seminar(current_runtime().settings.default_timezone))


@manage_pages.post("/<org>/seminars/new")
def save_new_seminar(org: str):
    """Create a seminar from the form (a draft unless "publish" is ticked)."""
    check_csrf()
    by = page_principal(org, EDIT)
    try:
        seminar = create_seminar(current_runtime(), by, seminar_input(request.form, creating=True))
    except (FormInvalid, Refusal) as problem:
        return _seminar_form(org, by, None, request.form, form_errors(problem), status=problem.status)
    return _done(page_text("Das Seminar ist angelegt."),
                 "manage_pages.seminar", org=org, seminar_id=seminar.id)


@manage_pages.get("/<org>/seminars/<int:seminar_id>/edit")
def edit_seminar(org: str, seminar_id: int):
    """The seminar form, filled in."""
    by = page_principal(org, EDIT)
    seminar, _counts = get_seminar(current_runtime(), by, seminar_id)
    return _seminar_form(org, by, seminar, seminar_values(seminar))


@manage_pages.post("/<org>/seminars/<int:seminar_id>/edit")
def save_seminar(org: str, seminar_id: int):
    """Save the seminar form; a new time or place of a published seminar is sent to its participants."""
    check_csrf()
    by = page_principal(org, EDIT)
    seminar, _counts = get_seminar(current_runtime(), by, seminar_id)
    try:
        update_seminar(current_runtime(), by, seminar_id, seminar_input(request.form, creating=False))
    except (FormInvalid, Refusal) as problem:
        return _seminar_form(org, by, seminar, request.form, form_errors(problem), status=problem.status)
    return _done(page_text("Die Änderungen sind gespeichert."),
                 "manage_pages.seminar", org=org, seminar_id=seminar_id)


def _seminar_form(org: str, by, seminar, values, errors=None, status: int = 200):
    """The seminar form (new when ``seminar`` is None) with its choices and any errors."""
    current_zone = values.get("timezone")
    zones = list(COMMON_ZONES) + ([current_zone] if current_zone and current_zone not in COMMON_ZONES else [])
    choices = {
        "series": [(item.id, item.title) for item in list_series(current_runtime(), by)],
        "zones": [(zone, zone) for zone in zones],
        "formats": [(kind.value, page_text(name)) for kind, name in SEMINAR_FORMATS.items()],
    }
    return _render("manage/seminar_form.html", org, by, status, seminar=seminar, values=values,
                   errors=messages(errors or {}), choices=choices)


@manage_pages.get("/<org>/seminars/<int:seminar_id>")
def seminar(org: str, seminar_id: int):
    """A seminar: facts, counts, actions, attendee table with filters, exports, links to copy."""
    by = page_principal(org, VIEW)
    return _seminar_page(org, by, seminar_id)


def _seminar_page(org: str, by, seminar_id: int, move_values=None, move_errors=None, status: int = 200):
    """The seminar page with the attendee table filtered as the query asks."""
    runtime = current_runtime()
    seminar, counts = get_seminar(runtime, by, seminar_id)
    chosen = _status_filter()
    search = request.args.get("q", "").strip()
    total, registrations = list_registrations(
        runtime, by, seminar_id, statuses=[chosen] if chosen else None, search=search)
    settings = runtime.settings
    links = {
        "page": seminar_page_url(settings, seminar.id),
        "feed": seminar_feed_url(settings, seminar.id),
        "series_feed": series_feed_url(settings, seminar.series.slug) if seminar.series else None,
    }
    return _render("manage/seminar.html", org, by, status, seminar=seminar, counts=counts, total=total,
                   registrations=registrations, mails=notifications_of, chosen=chosen, search=search,
                   statuses=list(RegistrationStatus), links=links, active=ACTIVE, resendable=STATUS_MAIL,
                   move_values=move_values or present_move_values(seminar), move_errors=messages(move_errors or {}))


def _status_filter() -> RegistrationStatus | None:
    """The status chosen in the attendee filter (an unknown one shows everybody)."""
    try:
        return RegistrationStatus(request.args.get("status", ""))
    except ValueError:
        return None


@manage_pages.post("/<org>/seminars/<int:seminar_id>/publish")
def publish(org: str, seminar_id: int):
    """Publish a draft."""
    check_csrf()
    by = page_principal(org, EDIT)
    publish_seminar(current_runtime(), by, seminar_id)
    return _done(page_text("Das Seminar ist veröffentlicht."),
                 "manage_pages.seminar", org=org, seminar_id=seminar_id)


@manage_pages.post("/<org>/seminars/<int:seminar_id>/move")
def move(org: str, seminar_id: int):
    """Show what a new time, place or join link changes and whom it tells; once confirmed, change and tell."""
    check_csrf()
    by = page_principal(org, EDIT)
    seminar, _counts = get_seminar(current_runtime(), by, seminar_id)
    confirmed = request.form.get("confirmed") == "1"
    try:
        changes = move_input(request.form, seminar.timezone)
        if confirmed:
            told = move_seminar(current_runtime(), seminar_id, by=by, **changes)
        else:
            changes.pop("message")
            plan = preview_move(current_runtime(), seminar_id, by, **changes)
    except (FormInvalid, Refusal) as problem:
        errors = form_errors(problem, MOVE_REFUSAL_FIELDS)
        if confirmed and set(errors) == {"message"}:
            plan = preview_move(current_runtime(), seminar_id, by, **_without_message(request.form, seminar))
            return _move_page(org, by, plan, messages(errors), 422)
        return _seminar_page(org, by, seminar_id, request.form, errors, status=problem.status)
    if not confirmed:
        if not plan.changes_anything:
            return _done(page_text("Nichts geändert: Zeit, Ort und Zugangslink sind wie bisher."),
                         "manage_pages.seminar", org=org, seminar_id=seminar_id)
        return _move_page(org, by, plan, {})
    return _done(page_plural("Gespeichert. %(count)s E-Mail an Teilnehmende wird gesendet.",
                             "Gespeichert. %(count)s E-Mails an Teilnehmende werden gesendet.", len(told)),
                 "manage_pages.seminar", org=org, seminar_id=seminar_id)


def _without_message(form, seminar) -> dict:
    """The move form's changes alone, for showing them again next to a message that was refused."""
    changes = move_input({**form.to_dict(), "message": ""}, seminar.timezone)
    changes.pop("message")
    return changes


def _move_page(org: str, by, plan, errors, status: int = 200):
    """The page that asks before a move: old and new side by side, who is told, a message for them."""
    carried = {name: value for name, value in request.form.items() if name.startswith("move_")}
    return _render("manage/move_seminar.html", org, by, status, plan=plan, seminar=plan.seminar, carried=carried,
                   values=request.form, errors=errors)


@manage_pages.get("/<org>/seminars/<int:seminar_id>/cancel")
def cancel_question(org: str, seminar_id: int):
    """Ask before cancelling: it cannot be undone and mails every participant."""
    by = page_principal(org, EDIT)
    seminar, counts = get_seminar(current_runtime(), by, seminar_id)
    return _render("manage/cancel_seminar.html", org, by, seminar=seminar, counts=counts, values={}, errors={})


@manage_pages.post("/<org>/seminars/<int:seminar_id>/cancel")
def cancel(org: str, seminar_id: int):
    """Cancel the seminar: everyone registered or waiting gets the cancellation mail."""
    check_csrf()
    by = page_principal(org, EDIT)
    try:
        data = load(ParticipantNotice(), {"message": request.form.get("message", "")})
    except FormInvalid as problem:
        seminar, counts = get_seminar(current_runtime(), by, seminar_id)
        return _render("manage/cancel_seminar.html", org, by, 422, seminar=seminar, counts=counts,
                       values=request.form, errors=messages(problem.errors))
    told = cancel_seminar(current_runtime(), seminar_id, by=by, message=data["message"])
    return _done(page_plural("Das Seminar ist abgesagt. %(count)s Person wird benachrichtigt.",
                             "Das Seminar ist abgesagt. %(count)s Personen werden benachrichtigt.", len(told)),
                 "manage_pages.seminar", org=org, seminar_id=seminar_id)


@manage_pages.post("/<org>/seminars/<int:seminar_id>/duplicate")
def duplicate(org: str, seminar_id: int):
    """Copy the seminar as a draft and open the copy's form, to give it its own date."""
    check_csrf()
    by = page_principal(org, EDIT)
    copy_id = duplicate_seminar(current_runtime(), by, seminar_id)
    return _done(page_text("Die Kopie ist als Entwurf angelegt. Geben Sie ihr hier Datum und Angaben."),
                 "manage_pages.edit_seminar", org=org, seminar_id=copy_id)


@manage_pages.get("/<org>/seminars/<int:seminar_id>/repeat")
def repeat_question(org: str, seminar_id: int):
    """The form for repeating a seminar weekly or monthly, before any date is shown."""
    by = page_principal(org, EDIT)
    return _repeat_page(org, by, seminar_id, {"every": "month", "count": "6", "interval": "1"}, {})


@manage_pages.post("/<org>/seminars/<int:seminar_id>/repeat")
def repeat(org: str, seminar_id: int):
    """Show the dates of the chosen rhythm; once confirmed, create a draft for each."""
    check_csrf()
    by = page_principal(org, EDIT)
    try:
        rhythm = repeat_input(request.form)
        if request.form.get("confirmed") != "1":
            dates = preview_repeat(current_runtime(), by, seminar_id, rhythm)
            return _repeat_page(org, by, seminar_id, request.form, {}, dates=dates)
        created = repeat_seminar(current_runtime(), by, seminar_id, rhythm)
    except (FormInvalid, Refusal) as problem:
        return _repeat_page(org, by, seminar_id, request.form, form_errors(problem, {"date_out_of_range": "count"}),
                            status=problem.status)
    return _done(page_plural("%(count)s Entwurf ist angelegt.", "%(count)s Entwürfe sind angelegt.", len(created)),
                 "manage_pages.seminars", org=org)


# "the n-th Wednesday of the month", for n = 1 to 5.
NTH_WEEKDAY = (N_("am ersten %(weekday)s im Monat"), N_("am zweiten %(weekday)s im Monat"),
               N_("am dritten %(weekday)s im Monat"), N_("am vierten %(weekday)s im Monat"),
               N_("am fünften %(weekday)s im Monat (Monate ohne ihn werden übersprungen)"))


def _repeat_page(org: str, by, seminar_id: int, values, errors, dates=None, status: int = 200):
    seminar, _counts = get_seminar(current_runtime(), by, seminar_id)
    language = page_language()
    weekday = weekday_name(seminar.starts_at, seminar.timezone, language)
    own_week = week_of_month(local(seminar.starts_at, seminar.timezone).date())
    # The seminar's own place in its month, or the last such weekday (the usual choices of a monthly series).
    weeks = [(str(own_week), page_text(NTH_WEEKDAY[own_week - 1], weekday=weekday)),
             ("-1", page_text("am letzten %(weekday)s im Monat", weekday=weekday))]
    values = {"week_of_month": str(own_week), **values}
    shown = [SimpleNamespace(starts_at=starts_at, ends_at=ends_at, timezone=seminar.timezone)
             for starts_at, ends_at in dates or []]
    return _render("manage/repeat_seminar.html", org, by, status, seminar=seminar, values=values,
                   errors=messages(errors), dates=shown, weeks=weeks, most=MOST_REPEATS)


@manage_pages.get("/<org>/seminars/<int:seminar_id>/export.<any(csv, xlsx):fmt>")
def export_seminar(org: str, seminar_id: int, fmt: str):
    """The seminar's attendee list as CSV or XLSX, with the status filter of the table."""
    by = page_principal(org, VIEW)
    return attendee_export(by, "seminar", seminar_id, fmt, _export_filters())


# --- registrations ------------------------------------------------------------------------------

# What the buttons of the attendee table do, and what the page says afterwards.
REGISTRATION_ACTIONS: dict[str, tuple[Callable, str]] = {
    "promote": (waiting_list.promote, N_("Die Person ist nachgerückt und wird benachrichtigt.")),
    "resend": (resend_mail, N_("Die E-Mail wird erneut gesendet.")),
}


@manage_pages.get("/<org>/registrations/<int:registration_id>/cancel")
def cancel_registration_question(org: str, registration_id: int):
    """Ask before unregistering a person: say what follows, and take a message for their mail."""
    by = page_principal(org, EDIT)
    return _cancel_registration_page(org, by, registration_id, {}, {})


@manage_pages.post("/<org>/registrations/<int:registration_id>/cancel")
def cancel_registration_for_participant(org: str, registration_id: int):
    """Unregister the person: they get a receipt with the message; a waiting person moves up."""
    check_csrf()
    by = page_principal(org, EDIT)
    seminar_id = get_registration(current_runtime(), by, registration_id).seminar_id
    try:
        data = load(ParticipantNotice(), {"message": request.form.get("message", "")})
    except FormInvalid as problem:
        return _cancel_registration_page(org, by, registration_id, request.form, messages(problem.errors), 422)
    cancel_registration(current_runtime(), registration_id, by=by, message=data["message"])
    return _done(page_text("Die Person ist abgemeldet und bekommt eine Bestätigung per E-Mail."),
                 "manage_pages.seminar", org=org, seminar_id=seminar_id, _anchor="attendees",
                 status=request.args.get("status") or None, q=request.args.get("q") or None)


def _cancel_registration_page(org: str, by, registration_id: int, values, errors, status: int = 200):
    registration = get_registration(current_runtime(), by, registration_id)
    seminar, counts = get_seminar(current_runtime(), by, registration.seminar_id)
    return _render("manage/cancel_registration.html", org, by, status, registration=registration, seminar=seminar,
                   counts=counts, active=ACTIVE, values=values, errors=errors,
                   back={"status": request.args.get("status") or None, "q": request.args.get("q") or None})


@manage_pages.post("/<org>/registrations/<int:registration_id>/<any(promote, resend):action>")
def registration_action(org: str, registration_id: int, action: str):
    """Move a waiting person up, or send their last mail again."""
    check_csrf()
    by = page_principal(org, EDIT)
    # Found first, so that the page can go back to its seminar (and another organiser's is 404).
    seminar_id = get_registration(current_runtime(), by, registration_id).seminar_id
    act, done = REGISTRATION_ACTIONS[action]
    act(current_runtime(), by, registration_id)
    return _done(page_text(done), "manage_pages.seminar", org=org, seminar_id=seminar_id, _anchor="attendees",
                 status=request.args.get("status") or None, q=request.args.get("q") or None)


# --- series -----------------------------------------------------------------------------------


@manage_pages.get("/<org>/series")
def series(org: str):
    """The organiser's series with their feeds and exports; editors create new ones here."""
    by = page_principal(org, VIEW)
    return _series_page(org, by, {})


@manage_pages.post("/<org>/series")
def save_new_series(org: str):
    """Create a series."""
    check_csrf()
    by = page_principal(org, EDIT)
    try:
        data = load(SeriesInput(), {name: request.form.get(name, "") for name in ("slug", "title", "description")})
        create_series(current_runtime(), by, data)
    except (FormInvalid, Refusal) as problem:
        return _series_page(org, by, request.form, form_errors(problem), status=problem.status)
    return _done(page_text("Die Reihe ist angelegt."), "manage_pages.series", org=org)


def _series_page(org: str, by, values, errors=None, status: int = 200):
    """The series list with the form for a new one."""
    settings = current_runtime().settings
    rows = [(item, series_feed_url(settings, item.slug)) for item in list_series(current_runtime(), by)]
    return _render("manage/series.html", org, by, status, rows=rows, values=values, errors=messages(errors or {}))


@manage_pages.get("/<org>/series/<int:series_id>/export.<any(csv, xlsx):fmt>")
def export_series(org: str, series_id: int, fmt: str):
    """The attendees of every seminar of a series as CSV or XLSX."""
    by = page_principal(org, VIEW)
    return attendee_export(by, "series", series_id, fmt, _export_filters())


def _export_filters() -> dict:
    """Status, delimiter and language of an export link as ExportQuery's data."""
    raw = {"status": [status for status in request.args.getlist("status") if status],
           "delimiter": request.args.get("delimiter", ";"), "lang": page_language()}
    try:
        return ExportQuery().load(raw)
    except ValidationError:
        raise UnprocessableEntity() from None


# --- admins: tokens, audit log, settings ------------------------------------------------------------


@manage_pages.get("/<org>/tokens")
def tokens(org: str):
    """The organiser's API tokens and a form for a new one (admins)."""
    by = page_principal(org, ADMIN)
    return _tokens_page(org, by, {})


@manage_pages.post("/<org>/tokens")
def create_token(org: str):
    """Create an API token and show it this one time."""
    check_csrf()
    by = page_principal(org, ADMIN)
    try:
        data = load(TokenInput(), {"name": request.form.get("name", ""), "role": request.form.get("role", "")})
    except FormInvalid as invalid:
        return _tokens_page(org, by, request.form, invalid.errors, status=422)
    _token_id, token = create_api_token(current_runtime(), by.organiser_id, data["name"], data["role"], by=by)
    return _render("manage/token_created.html", org, by, 201, token=token, name=data["name"], token_role=data["role"])


def _tokens_page(org: str, by, values, errors=None, status: int = 200):
    """The token list with the form for a new one."""
    rows = list_api_tokens(current_runtime(), by.organiser_id)
    return _render("manage/tokens.html", org, by, status, rows=rows, values=values, errors=messages(errors or {}),
                   roles=list(Role), zone=current_runtime().settings.default_timezone)


@manage_pages.post("/<org>/tokens/<int:token_id>/revoke")
def revoke_token(org: str, token_id: int):
    """Revoke a token: the integration using it stops working at once."""
    check_csrf()
    by = page_principal(org, ADMIN)
    if not revoke_api_token(current_runtime(), by.organiser_id, token_id, by=by):
        raise _problem(NotFound(), "token_not_found")
    return _done(page_text("Das Token ist widerrufen."), "manage_pages.tokens", org=org)


@manage_pages.get("/<org>/webhooks")
def webhook_list(org: str):
    """The organiser's webhook endpoints and a form for a new one (admins)."""
    by = page_principal(org, ADMIN)
    return _webhooks_page(org, by, {"events": []})


@manage_pages.post("/<org>/webhooks")
def create_webhook(org: str):
    """Add an endpoint and show its signing secret this one time."""
    check_csrf()
    by = page_principal(org, ADMIN)
    try:
        endpoint, secret = webhooks.create_endpoint(current_runtime(), by, webhook_input(request.form))
    except (FormInvalid, Refusal) as problem:
        values = {**request.form, "events": request.form.getlist("events")}
        return _webhooks_page(org, by, values, form_errors(problem), status=422)
    return _render("manage/webhook_secret.html", org, by, 201, endpoint=endpoint, secret=secret)


def _webhooks_page(org: str, by, values, errors=None, status: int = 200):
    """The endpoint list with the form for a new one."""
    return _render("manage/webhooks.html", org, by, status, rows=webhooks.list_endpoints(current_runtime(), by),
                   values=values, errors=messages(errors or {}), events=webhooks.SUBSCRIBABLE,
                   zone=current_runtime().settings.default_timezone)


@manage_pages.get("/<org>/webhooks/<int:webhook_id>")
def webhook(org: str, webhook_id: int):
    """One endpoint: its events, the test button, the secret, and its latest deliveries (admins)."""
    by = page_principal(org, ADMIN)
    runtime = current_runtime()
    return _render("manage/webhook.html", org, by, endpoint=webhooks.get_endpoint(runtime, by, webhook_id),
                   deliveries=webhooks.list_deliveries(runtime, by, webhook_id), zone=runtime.settings.default_timezone)


@manage_pages.post("/<org>/webhooks/<int:webhook_id>/<any(test, rotate, enable, disable, delete):change>")
def webhook_action(org: str, webhook_id: int, change: str):
    """Send a test event, give it a new secret, turn it off or on, or remove it."""
    check_csrf()
    by = page_principal(org, ADMIN)
    runtime = current_runtime()
    if change == "rotate":
        secret = webhooks.rotate_secret(runtime, by, webhook_id)
        return _render("manage/webhook_secret.html", org, by, 200,
                       endpoint=webhooks.get_endpoint(runtime, by, webhook_id), secret=secret, rotated=True)
    if change == "delete":
        webhooks.delete_endpoint(runtime, by, webhook_id)
        return _done(page_text("Der Webhook ist gelöscht."), "manage_pages.webhook_list", org=org)
    if change == "test":
        webhooks.send_test_event(runtime, by, webhook_id)
        message = page_text("Das Testereignis ist unterwegs; sein Ergebnis steht gleich unten in der Liste.")
    else:
        webhooks.update_endpoint(runtime, by, webhook_id, {"enabled": change == "enable"})
        message = page_text("Der Webhook ist eingeschaltet.") if change == "enable" else page_text(
            "Der Webhook ist ausgeschaltet.")
    return _done(message, "manage_pages.webhook", org=org, webhook_id=webhook_id)


@manage_pages.post("/<org>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver_webhook(org: str, webhook_id: int, delivery_id: int):
    """Send a delivery again, unchanged."""
    check_csrf()
    by = page_principal(org, ADMIN)
    webhooks.redeliver(current_runtime(), by, webhook_id, delivery_id)
    return _done(page_text("Die Zustellung wird wiederholt."), "manage_pages.webhook", org=org,
                 webhook_id=webhook_id)


@manage_pages.get("/<org>/audit")
def audit(org: str):
    """Who changed, cancelled or exported what, newest first (admins)."""
    by = page_principal(org, ADMIN)
    before = request.args.get("before", type=int)
    page = recent_events(current_runtime(), by.organiser_id, before=before if before and before > 0 else None)
    return _render("manage/audit.html", org, by, events=page.events, older=page.older, newest=before is None,
                   zone=current_runtime().settings.default_timezone)


@manage_pages.get("/<org>/settings")
def settings(org: str):
    """The organiser's settings (admins)."""
    by = page_principal(org, ADMIN)
    organiser = get_organiser(current_runtime(), by)
    values = {name: getattr(organiser, name) or "" for name in ORGANISER_SETTINGS}
    values["allowed_origins"] = "\n".join(organiser.allowed_origins or [])
    return _render("manage/settings.html", org, by, values=values, errors={})


@manage_pages.post("/<org>/settings")
def save_settings(org: str):
    """Save name, contact, privacy link, website, partner origins and retention days."""
    check_csrf()
    by = page_principal(org, ADMIN)
    try:
        update_organiser(current_runtime(), by, organiser_input(request.form))
    except FormInvalid as invalid:
        return _render("manage/settings.html", org, by, 422, values=request.form, errors=messages(invalid.errors))
    return _done(page_text("Die Einstellungen sind gespeichert."),
                 "manage_pages.settings", org=org)


# --- admins: requests from a person (DSGVO Art. 15 and 17) -------------------------------------------


@manage_pages.get("/<org>/privacy")
def privacy_page(org: str):
    """The retention rules and the forms for a person's report and erasure (admins)."""
    by = page_principal(org, ADMIN)
    return _render("manage/privacy.html", org, by, values={}, errors={})


@manage_pages.post("/<org>/privacy/report")
def privacy_report(org: str):
    """Everything stored about an address, as a JSON file to hand to the person."""
    check_csrf()
    by = page_principal(org, ADMIN)
    try:
        email = _person_email("report_email")
    except FormInvalid as invalid:
        return _render("manage/privacy.html", org, by, 422, values=request.form, errors=messages(invalid.errors))
    report = PersonReport().dump(person_report_view(by, email))
    response = Response(json.dumps(report, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{REPORT_FILENAME}"'
    return response


@manage_pages.post("/<org>/privacy/erase")
def privacy_erase(org: str):
    """Anonymise all the organiser's registrations of an address; seats go to the waiting list."""
    check_csrf()
    by = page_principal(org, ADMIN)
    try:
        email = _person_email("erase_email")
    except FormInvalid as invalid:
        return _render("manage/privacy.html", org, by, 422, values=request.form, errors=messages(invalid.errors))
    count = erase_person(current_runtime(), by, email)
    return _done(page_plural("%(count)s Anmeldung anonymisiert.", "%(count)s Anmeldungen anonymisiert.", count),
                 "manage_pages.privacy_page", org=org)


def _person_email(field: str) -> str:
    """The address of a privacy form (each form names its field, as both are on one page)."""
    return load(PersonErase(), {"email": request.form.get(field, "")}, renamed={"email": field})["email"]


def _problem(error: HTTPException, code: str) -> HTTPException:
    """An HTTP error whose page names this problem of shared.problems."""
    error.problem_code = code
    return error
