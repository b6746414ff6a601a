"""Embedding on partner websites: the widget script and the iframe pages that work without JavaScript."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from shared.db import read_session
from shared.etags import content_etag
from shared.i18n import LANGUAGES, translator
from shared.problems import field_message, problem_text
from services.registration.domain.consent import consent_text
from services.registration.domain.public_seminars import list_public_seminars
from services.registration.domain.registration_window import closed_reason
from services.registration.public.registration_form import (
    render_registered,
    render_seminar,
    resend_from_registered,
    submit_form,
)
from services.registration.web.context import current_runtime, page_language
from services.registration.web.origins import seminar_origins, series_origins

embed = Blueprint("embed", __name__, static_folder="static", static_url_path="/embed/static")

# The widget's address is pasted into partner pages, so it cannot carry a version:
# an hour bounds how long a fix takes to reach every visitor, the ETag keeps
# revalidation cheap.
WIDGET_MAX_AGE = 3600
# The hints the widget gives before sending, in the server's own words.
WIDGET_FIELD_MESSAGES = ("required", "invalid_email", "consent_required")
# Why registration may be closed (``closed_reason``); the widget names the reason.
WINDOW_PROBLEMS = ("seminar_cancelled", "registration_not_open_yet", "registration_closed", "seminar_full")


@embed.get("/widget.js")
def widget():
    """The widget script, with its texts in both languages and the service's address."""
    settings = current_runtime().settings
    script = render_template(
        "embed/widget.js",
        base_url=settings.registration_base_url,
        translators={language: translator(language) for language in LANGUAGES},
        consent_text={language: consent_text(language) for language in LANGUAGES},
        field_messages={code: {language: field_message(code, language) for language in LANGUAGES}
                        for code in WIDGET_FIELD_MESSAGES},
        closed_problems={code: {language: problem_text(code, language) for language in LANGUAGES}
                         for code in WINDOW_PROBLEMS},
    ).encode()
    response = Response(script, mimetype="text/javascript")
    response.set_etag(content_etag(script))
    response.cache_control.public = True
    response.cache_control.max_age = WIDGET_MAX_AGE
    # Partner pages that isolate themselves (Cross-Origin-Embedder-Policy) may still load it.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)


@embed.get("/embed/events/<int:event_id>")
def seminar_page(event_id: int):
    """A seminar's registration form for an iframe on a partner page."""
    return _render_form(event_id)


@embed.post("/embed/events/<int:event_id>")
def seminar_form_post(event_id: int):
    """Registration by plain form post from the iframe; the result page says what comes next."""
    language = page_language()
    posted = submit_form(event_id, language)
    if posted.status:
        return redirect(url_for("embed.registered", event_id=event_id, status=posted.status, lang=language,
                                series=request.args.get("series"), t=posted.page_token))
    return _render_form(event_id, errors=posted.errors, values=posted.values, form_problem=posted.problem,
                        status=posted.http_status)


@embed.get("/embed/events/<int:event_id>/registered")
def registered(event_id: int):
    """What happens next, inside the iframe."""
    g.frame_origins = seminar_origins(event_id)
    return render_registered(event_id, "embed/registered.html", "embed.resend")


@embed.post("/embed/events/<int:event_id>/registered/resend")
def resend(event_id: int):
    """Send the registration's mail again, inside the iframe."""
    g.frame_origins = seminar_origins(event_id)
    return resend_from_registered(event_id, "embed.registered")


@embed.get("/embed/series/<slug>")
def series_page(slug: str):
    """The upcoming seminars of a series, each leading to its form, for an iframe."""
    g.frame_origins = series_origins(slug)
    if g.frame_origins is None:
        abort(404)
    with read_session(current_runtime().sessions) as session:
        seminars = list_public_seminars(session, series_slug=slug)
        return render_template("embed/series.html", slug=slug, seminars=seminars,
                               closed_reason=closed_reason, problem_text=problem_text)


def _render_form(event_id: int, *, errors=None, values=None, form_problem=None, status=200):
    """The iframe's form page, framable by the partners of the seminar's organiser."""
    g.frame_origins = seminar_origins(event_id)
    series = request.args.get("series")
    action = url_for("embed.seminar_form_post", event_id=event_id, lang=page_language(), series=series)
    return render_seminar(event_id, template="embed/seminar.html", form_action=action, errors=errors,
                                values=values, form_problem=form_problem, status=status, series=series)
