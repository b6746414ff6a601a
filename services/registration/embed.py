"""Embedding on partner websites: the widget script and the iframe pages that work without JavaScript."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import escape

from shared.db import read_session
from shared.etags import content_etag
from shared.i18n import LANGUAGES, translator
from shared.problems import field_message, problem_text
from services.registration import pages
from services.registration.consent import consent_text
from services.registration.origins import frame_ancestors, seminar_origins, series_origins
from services.registration.seminars import list_public_seminars, window_problem

embed = Blueprint("embed", __name__, static_folder="static", static_url_path="/embed/static")

# The widget's address is pasted into partner pages, so it cannot carry a version:
# an hour bounds how long a fix takes to reach every visitor, the ETag keeps
# revalidation cheap.
WIDGET_MAX_AGE = 3600
# The hints the widget gives before sending, in the server's own words.
WIDGET_FIELD_MESSAGES = ("required", "invalid_email", "consent_required")
# Why registration may be closed (``window_problem``); the widget names the reason.
WINDOW_PROBLEMS = ("seminar_cancelled", "registration_not_open_yet", "registration_closed", "seminar_full")


def _runtime():
    """The process's database sessions, Redis and settings."""
    return current_app.extensions["runtime"]


@embed.get("/widget.js")
def widget():
    """The widget script, with its texts in both languages and the service's address."""
    settings = _runtime().settings
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


@embed.app_template_global()
def embed_snippets(title: str, event_id: int | None = None, series_slug: str | None = None) -> dict[str, str]:
    """The HTML a partner pastes to embed a seminar or a series: the widget, and the iframe fallback."""
    base = _runtime().settings.registration_base_url
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


@embed.after_request
def _framed_only_by_partners(response: Response) -> Response:
    """Every /embed page may be framed by the service itself and the partners its view allowed."""
    if request.path.startswith("/embed/"):
        response.headers["Content-Security-Policy"] = frame_ancestors(g.get("frame_origins"))
    return response


@embed.get("/embed/events/<int:event_id>")
def seminar_page(event_id: int):
    """A seminar's registration form for an iframe on a partner page."""
    return _render_form(event_id)


@embed.post("/embed/events/<int:event_id>")
def seminar_form_post(event_id: int):
    """Registration by plain form post from the iframe; the result page says what comes next."""
    language = pages.page_language()
    posted = pages.submit_form(event_id, language)
    if posted.status:
        return redirect(url_for("embed.registered", event_id=event_id, status=posted.status, lang=language,
                                series=request.args.get("series")))
    return _render_form(event_id, errors=posted.errors, values=posted.values, form_problem=posted.problem,
                        status=posted.http_status)


@embed.get("/embed/events/<int:event_id>/registered")
def registered(event_id: int):
    """What happens next, inside the iframe."""
    g.frame_origins = seminar_origins(event_id)
    return pages.render_registered(event_id, "embed/registered.html")


@embed.get("/embed/series/<slug>")
def series_page(slug: str):
    """The upcoming seminars of a series, each leading to its form, for an iframe."""
    g.frame_origins = series_origins(slug)
    if g.frame_origins is None:
        abort(404)
    with read_session(_runtime().sessions) as session:
        seminars = list_public_seminars(session, series_slug=slug)
        return render_template("embed/series.html", slug=slug, seminars=seminars,
                               window_problem=window_problem, problem_text=problem_text)


def _render_form(event_id: int, *, errors=None, values=None, form_problem=None, status=200):
    """The iframe's form page, framable by the partners of the seminar's organiser."""
    g.frame_origins = seminar_origins(event_id)
    series = request.args.get("series")
    action = url_for("embed.seminar_form_post", event_id=event_id, lang=pages.page_language(), series=series)
    return pages.render_seminar(event_id, template="embed/seminar.html", form_action=action, errors=errors,
                                values=values, form_problem=form_problem, status=status, series=series)
