"""Why the registration domain refuses a request: one exception type per reason.

Each names its problem type in ``shared.problems`` (title and detail in German and
English) and its HTTP status. The app answers every one of them as problem+json for
API clients and as an error page in a browser; forms show them next to their field.
"""

from __future__ import annotations

from shared.problems import Refusal


class NotFound(Refusal):
    """A participant link that names no registration (any more)."""

    code, status = "not_found", 404


class SeminarNotFound(Refusal):
    """No such seminar, not published, or another organiser's."""

    code, status = "seminar_not_found", 404


class SeriesNotFound(Refusal):
    """No such series, or another organiser's."""

    code, status = "series_not_found", 404


class RegistrationNotFound(Refusal):
    """No such registration, or one of another organiser's seminars."""

    code, status = "registration_not_found", 404


class RegistrationNotOpenYet(Refusal):
    """The seminar's registration window has not opened."""

    code, status = "registration_not_open_yet", 409


class RegistrationClosed(Refusal):
    """The seminar's registration window has closed."""

    code, status = "registration_closed", 409


class SeminarCancelled(Refusal):
    """The seminar is cancelled: nobody registers, nothing changes any more."""

    code, status = "seminar_cancelled", 409


class SeminarFull(Refusal):
    """Every seat is taken and the seminar keeps no waiting list."""

    code, status = "seminar_full", 409


class AnswersInvalid(Refusal):
    """Answers to the seminar's questions are missing or invalid; ``errors`` maps question keys to codes."""

    code, status = "validation_failed", 422

    @property
    def problem_errors(self):
        """The answers' errors under ``answers``, where the registration body has them."""
        return {"answers": self.errors}


class EndsBeforeStart(Refusal):
    """A seminar would end before (or when) it starts."""

    code, status = "ends_before_start", 422


class SeminarTooLong(Refusal):
    """A seminar would last longer than ``seminar_times.LONGEST_SEMINAR``."""

    code, status = "seminar_too_long", 422


class DateOutOfRange(Refusal):
    """A moment outside the dates the services accept (``shared.times.EARLIEST`` to ``LATEST``)."""

    code, status = "date_out_of_range", 422


class CapacityBelowTaken(Refusal):
    """The new capacity is below the seats taken already."""

    code, status = "capacity_below_taken", 409


class SeminarHasRegistrations(Refusal):
    """A seminar with registrations is cancelled, never deleted."""

    code, status = "seminar_has_registrations", 409


class NotWaitlisted(Refusal):
    """Only someone on the waiting list can move up."""

    code, status = "not_waitlisted", 409


class AddressNotConfirmed(Refusal):
    """The join link goes only to an address its owner confirmed."""

    code, status = "address_not_confirmed", 409


class NothingToResend(Refusal):
    """A cancelled or expired registration has no mail to send again."""

    code, status = "nothing_to_resend", 409


class ResendTooSoon(Refusal):
    """The participant's mail was sent moments ago, or sent again often enough already."""

    code, status = "resend_too_soon", 429


class WebhookUrlNotAllowed(Refusal):
    """A webhook URL that is not https or leads to this machine or a private network."""

    code, status = "webhook_url_not_allowed", 422


class WebhookNotFound(Refusal):
    """No such webhook endpoint or delivery, or another organiser's."""

    code, status = "webhook_not_found", 404


class SlugTaken(Refusal):
    """Another series uses this slug."""

    code, status = "slug_taken", 409
