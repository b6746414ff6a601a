// Seminare: the registration widget for partner websites.
//
//   <script src="{{ base_url }}/widget.js" async></script>
//   <seminar-registration event="12"></seminar-registration>        one seminar
//   <seminar-registration series="kommunal-engagiert"></seminar-registration>   a series
//
// German by default; English with lang="en" on the element (or on the page).
// The form lives in a Shadow DOM, so the partner's CSS cannot reach it, and it
// talks to the public API with CORS, without cookies or any other storage.
// Partners may set --seminar-accent and --seminar-font on the element; nothing else leaks in.
(function () {
  "use strict";

  // Filled in by the server, so that they match what it stores and answers.
  const SERVICE = {{ base_url|tojson }};
  const CONSENT = {{ consent_text|tojson }};
  const FIELD_MESSAGES = {{ field_messages|tojson }};
  const CLOSED = {{ closed_problems|tojson }};

  // Texts from the message catalog, both languages: the script is the same for every page.
  {%- macro texts(_, ngettext, locale) -%}
    {
      locale: {{ locale|tojson }},
      loading: {{ _("Wird geladen …")|tojson }},
      sending: {{ _("Wird gesendet …")|tojson }},
      listHeading: {{ _("Termine und Anmeldung")|tojson }},
      noDates: {{ _("Zurzeit sind keine Termine geplant.")|tojson }},
      formHeading: {{ _("Anmeldung")|tojson }},
      name: {{ _("Name")|tojson }},
      email: {{ _("E-Mail-Adresse")|tojson }},
      optional: {{ _("optional")|tojson }},
      privacy: {{ _("Datenschutzerklärung lesen")|tojson }},
      submit: {{ _("Verbindlich anmelden")|tojson }},
      submitWaitingList: {{ _("Auf die Warteliste")|tojson }},
      fullJoinList: {{ _("Ausgebucht – Sie kommen auf die Warteliste.")|tojson }},
      register: {{ _("Anmelden")|tojson }},
      back: {{ _("Zurück zu allen Terminen")|tojson }},
      checkEntries: {{ _("Bitte prüfen Sie Ihre Angaben")|tojson }},
      consentLabel: {{ _("Einwilligung")|tojson }},
      seatsLeft: (n) => (n === 1 ? {{ ngettext("%(count)s Platz frei", "%(count)s Plätze frei", 1)|tojson }}
        : {{ ngettext("%(count)s Platz frei", "%(count)s Plätze frei", 2, count="{n}")|tojson }}.replace("{n}", n)),
      seatsOpen: {{ _("Plätze frei")|tojson }},
      fullyBooked: {{ _("Ausgebucht")|tojson }},
      thanks: {{ _("Vielen Dank!")|tojson }},
      sentTo: {{ _("Die E-Mail geht an %(address)s.", address="{address}")|tojson }},
      spam: {{ _("Keine E-Mail bekommen? Schauen Sie bitte auch im Spam-Ordner nach.")|tojson }},
      pending: {{ _("Bitte bestätigen Sie Ihre E-Mail-Adresse mit dem Link in der E-Mail, die wir Ihnen geschickt haben. Darin steht auch, ob ein Platz für Sie frei ist oder ob Sie auf der Warteliste stehen.")|tojson }},
      waitlisted: {{ _("Sie stehen auf der Warteliste. Wird ein Platz frei, rücken Sie automatisch nach und bekommen eine E-Mail.")|tojson }},
      confirmed: {{ _("Ihre Anmeldung ist bestätigt. Die Bestätigung mit allen Details kommt per E-Mail.")|tojson }},
      unreachable: {{ _("Das Anmeldeformular konnte nicht geladen werden. Bitte versuchen Sie es später erneut.")|tojson }},
      notSent: {{ _("Die Anmeldung konnte nicht gesendet werden. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.")|tojson }},
      elsewhere: {{ _("Zur Anmeldeseite")|tojson }},
    }
  {%- endmacro %}
  const TEXT = {
    {%- for language, translator in translators.items() %}
    {{ language }}: {{ texts(translator.gettext, translator.ngettext, "en-GB" if language == "en" else "de-DE") }},
    {%- endfor %}
  };

  // Only em units: the partner's root font size must not shrink or blow up the form.
  const STYLE = `
    :host {
      /* Nothing the partner page sets reaches inside, not even with !important:
         for important rules the shadow tree's own declarations win. */
      all: initial !important;
      display: block !important;
    }
    [hidden] { display: none !important; }
    *, *::before, *::after { box-sizing: border-box; }
    .widget {
      font: 1em/1.5 var(--seminar-font, system-ui, -apple-system, "Segoe UI", sans-serif);
      color: #1a1a1a; background: #fff; border: 1px solid #767676; border-radius: .25em;
      padding: 1em; max-width: 100%; overflow-wrap: anywhere;
    }
    h2 { font-size: 1.3em; line-height: 1.25; margin: 0 0 .5em; }
    p { margin: .5em 0; }
    a { color: var(--seminar-accent, #0b5cad); }
    label { display: block; font-weight: 600; margin-top: .9em; }
    input[type=text], input[type=email], textarea {
      display: block; width: 100%; margin-top: .25em; padding: .55em; font: inherit; color: #1a1a1a;
      background: #fff; border: 1px solid #767676; border-radius: 4px;
    }
    fieldset { border: 0; padding: 0; margin: .9em 0 0; min-width: 0; }
    legend { font-weight: 600; padding: 0; }
    .check { display: flex; gap: .5em; align-items: flex-start; font-weight: normal; margin-top: .5em; }
    .check input { flex: none; width: 1.1em; height: 1.1em; margin: .2em 0 0; }
    button {
      margin-top: 1em; padding: .6em 1.2em; font: inherit; color: #fff;
      background: var(--seminar-accent, #0b5cad); border: 0; border-radius: 4px; cursor: pointer;
    }
    button.link {
      margin: 0; padding: 0; color: var(--seminar-accent, #0b5cad); background: none; text-decoration: underline;
    }
    /* Two colours, so that focus shows on light and dark accents alike. */
    :focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; box-shadow: 0 0 0 5px #f2a900; }
    .meta { color: #555; }
    .error { color: #a4000f; margin: .25em 0 0; }
    .summary:not(:empty) { border: 3px solid #a4000f; padding: .25em 1em; margin: 1em 0; }
    .summary h3 { font-size: 1.1em; margin: .5em 0; }
    .notice { padding: .75em; border-left: 4px solid var(--seminar-accent, #0b5cad); background: #eef4fb; }
    ul.seminars { list-style: none; padding: 0; margin: 0; }
    ul.seminars li { border-top: 1px solid #ccc; padding: .75em 0; }
  `;

  if (customElements.get("seminar-registration")) return; // the script is on the page twice

  /** One <seminar-registration> element: it starts its own widget once it is on the page. */
  class SeminarRegistration extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return; // moved within the page: keep what it shows
      start(this);
    }
  }
  customElements.define("seminar-registration", SeminarRegistration);

  /** Set up the shadow root and load the seminar or the series the element names. */
  function start(host) {
    const root = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = STYLE;
    const box = el("div", { class: "widget" });
    root.append(style, box);
    const lang = languageOf(host);
    // Everything one widget knows; several widgets on a page share nothing.
    const widget = { root, box, lang, text: TEXT[lang] };
    const eventId = host.getAttribute("event");
    const series = host.getAttribute("series");
    if (eventId) {
      widget.fallback = SERVICE + "/events/" + encodeURIComponent(eventId) + "?lang=" + lang;
      loadSeminar(widget, eventId);
    } else {
      widget.fallback = SERVICE + "/?lang=" + lang;
      loadSeries(widget, series || "");
    }
  }

  /** English if the element (or the page around it) says so, else German. */
  function languageOf(host) {
    const marked = host.closest("[lang]");
    const lang = marked ? marked.getAttribute("lang").toLowerCase() : "";
    return lang.startsWith("en") ? "en" : "de";
  }

  /** A DOM element with attributes and children; strings become text, never HTML. */
  function el(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === true) element.setAttribute(name, "");
      else if (value !== false && value != null) element.setAttribute(name, value);
    }
    element.append(...children.filter((child) => child != null));
    return element;
  }

  /** Replace what the widget shows. */
  function show(widget, ...nodes) {
    widget.box.replaceChildren(...nodes.filter((node) => node != null));
  }

  /** Call the public API; resolves to {status, body}, rejects when the network (or CORS) fails. */
  async function api(widget, path, body) {
    const options = {
      method: body ? "POST" : "GET",
      credentials: "omit", // no cookies in either direction
      headers: { Accept: "application/json", "Accept-Language": widget.lang },
    };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(SERVICE + path, options);
    const type = response.headers.get("Content-Type") || "";
    return { status: response.status, body: type.includes("json") ? await response.json() : null };
  }

  /** A readable message instead of a form, with a way to register on the service's own page. */
  function showProblem(widget, message) {
    show(widget,
      el("p", { role: "alert" }, message),
      el("p", {}, el("a", { href: widget.fallback, target: "_blank", rel: "noopener" }, widget.text.elsewhere)));
  }

  async function loadSeminar(widget, eventId) {
    show(widget, el("p", { role: "status" }, widget.text.loading));
    try {
      const answer = await api(widget, "/api/v1/events/" + encodeURIComponent(eventId));
      if (answer.status !== 200) return showProblem(widget, detailOf(widget, answer.body));
      showForm(widget, answer.body, null);
    } catch (failure) {
      showProblem(widget, widget.text.unreachable);
    }
  }

  async function loadSeries(widget, slug) {
    show(widget, el("p", { role: "status" }, widget.text.loading));
    try {
      const answer = await api(widget, "/api/v1/events?series=" + encodeURIComponent(slug));
      if (answer.status !== 200) return showProblem(widget, detailOf(widget, answer.body));
      showList(widget, answer.body);
    } catch (failure) {
      showProblem(widget, widget.text.unreachable);
    }
  }

  /** The server's problem detail (already in the widget's language), or a general message. */
  function detailOf(widget, problem) {
    return (problem && problem.detail) || widget.text.unreachable;
  }

  /** "Mittwoch, 10. Dezember 2031, 13:30–15:00 (Europe/Berlin)" in the seminar's own time zone. */
  function when(widget, seminar) {
    const format = new Intl.DateTimeFormat(widget.text.locale, {
      timeZone: seminar.timezone, weekday: "long", day: "numeric", month: "long", year: "numeric",
      hour: "2-digit", minute: "2-digit",
    });
    const range = format.formatRange(new Date(seminar.starts_at), new Date(seminar.ends_at));
    return el("time", { datetime: seminar.starts_at }, range + " (" + seminar.timezone + ")");
  }

  /** Seats left, waiting list, fully booked, or why registration is closed. */
  function availability(widget, seminar) {
    const reason = seminar.registration.reason;
    if (reason === "seminar_full") return widget.text.fullyBooked;
    if (reason) return CLOSED[reason][widget.lang][0];
    if (seminar.seats_left === null) return widget.text.seatsOpen;
    if (seminar.registration.waiting_list) return widget.text.fullJoinList;
    return widget.text.seatsLeft(seminar.seats_left);
  }

  /** Series mode: the upcoming seminars, each open one with a button to its form. */
  function showList(widget, seminars) {
    const text = widget.text;
    const heading = el("h2", { tabindex: "-1" }, text.listHeading);
    if (!seminars.length) {
      show(widget, heading, el("p", {}, text.noDates));
      return heading;
    }
    const items = seminars.map((seminar) => {
      const item = el("li", {},
        el("strong", {}, seminar.title), el("br"),
        el("span", { class: "meta" }, when(widget, seminar)), el("br"),
        availability(widget, seminar));
      if (seminar.registration.open) {
        const open = el("button", { type: "button", "aria-label": text.register + ": " + seminar.title },
          text.register);
        open.addEventListener("click", () => showForm(widget, seminar, () => showList(widget, seminars)));
        item.append(el("br"), open);
      }
      return item;
    });
    show(widget, heading, el("ul", { class: "seminars" }, ...items));
    return heading;
  }

  /** The registration form of one seminar; ``back`` returns to the series list, if there is one. */
  function showForm(widget, seminar, back) {
    const text = widget.text;
    const heading = el("h2", { id: "form-heading", tabindex: "-1" }, text.formHeading + ": " + seminar.title);
    const facts = el("p", { class: "meta" }, when(widget, seminar), el("br"), availability(widget, seminar));
    const backButton = back ? el("button", { type: "button", class: "link" }, text.back) : null;
    if (backButton) backButton.addEventListener("click", () => back().focus());
    if (!seminar.registration.open) {
      const reason = seminar.registration.reason;
      const why = el("p", { class: "notice", role: "status" }, CLOSED[reason][widget.lang][1]);
      show(widget, backButton, heading, facts, why);
      return;
    }
    const fields = [
      textField("name", text.name, { type: "text", autocomplete: "name", maxlength: "200", required: true }),
      textField("email", text.email, { type: "email", autocomplete: "email", maxlength: "254", required: true }),
      ...seminar.questions.map((question) => questionField(widget, question)),
      consentField(widget, seminar),
    ];
    const summary = el("div", { class: "summary", role: "alert" });
    const status = el("p", { role: "status", class: "meta" });
    const form = el("form", { novalidate: true, "aria-labelledby": "form-heading" },
      summary, ...fields.map((field) => field.container),
      el("button", { type: "submit" }, seminar.registration.waiting_list ? text.submitWaitingList : text.submit),
      status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit(widget, seminar, fields, summary, status);
    });
    show(widget, backButton, heading, facts, form);
    if (back) heading.focus(); // the list it replaced is gone: say where the reader is now
  }

  /** A labelled text input with its own error line. */
  function textField(key, label, attributes) {
    const input = el("input", { id: key, name: key, ...attributes });
    const error = el("p", { class: "error", id: key + "-error", hidden: true });
    return {
      key, input, error, label,
      container: el("div", {}, el("label", { for: key }, label), input, error),
      value: () => input.value,
      missing: () => !input.value.trim(),
      invalid: () => input.validity.typeMismatch,
    };
  }

  /** A field for one of the seminar's own questions, by its kind. */
  function questionField(widget, question) {
    const id = "q-" + question.key;
    const label = widget.lang === "en" ? question.label_en : question.label_de;
    const optional = question.required ? null : el("span", { class: "meta" }, " (" + widget.text.optional + ")");
    const error = el("p", { class: "error", id: id + "-error", hidden: true });
    const field = { key: question.key, question: true, required: question.required, error, label };
    if (question.kind === "short_text" || question.kind === "long_text") {
      const input = question.kind === "short_text"
        ? el("input", { id, type: "text", maxlength: "300", required: question.required })
        : el("textarea", { id, rows: "4", maxlength: "4000", required: question.required });
      field.input = input;
      field.container = el("div", {}, el("label", { for: id }, label, optional), input, error);
      field.value = () => input.value;
      field.missing = () => !input.value.trim();
    } else if (question.kind === "checkbox") {
      const input = el("input", { id, type: "checkbox", required: question.required });
      field.input = input;
      field.container = el("div", {}, el("label", { class: "check", for: id }, input, el("span", {}, label)), error);
      field.value = () => input.checked;
      field.missing = () => !input.checked;
    } else {
      const type = question.kind === "single_choice" ? "radio" : "checkbox";
      const boxes = question.options.map((option, index) =>
        el("input", { id: id + "-" + index, type, name: id, value: option.value }));
      const fieldset = el("fieldset", { id },
        el("legend", {}, label, optional),
        ...boxes.map((box, index) => el("label", { class: "check", for: box.id }, box,
          el("span", {}, widget.lang === "en" ? question.options[index].label_en : question.options[index].label_de))));
      field.input = fieldset;
      field.container = el("div", {}, fieldset, error);
      const chosen = () => boxes.filter((box) => box.checked).map((box) => box.value);
      field.value = () => (type === "radio" ? chosen()[0] || "" : chosen());
      field.missing = () => chosen().length === 0;
    }
    field.invalid = () => false;
    return field;
  }

  /** The consent checkbox with the organiser's privacy policy link. */
  function consentField(widget, seminar) {
    const input = el("input", { id: "consent", type: "checkbox", required: true });
    const error = el("p", { class: "error", id: "consent-error", hidden: true });
    const privacy = el("a", { href: seminar.organiser.privacy_policy_url, target: "_blank", rel: "noopener" },
      widget.text.privacy);
    return {
      key: "consent", input, error, label: widget.text.consentLabel, required: true,
      container: el("div", {},
        el("label", { class: "check", for: "consent" }, input, el("span", {}, CONSENT[widget.lang] + " ", privacy)),
        error),
      value: () => input.checked,
      missing: () => !input.checked,
      invalid: () => false,
    };
  }

  /** Hints before sending: what is missing or plainly wrong, in the messages the server would use. */
  function clientErrors(widget, fields) {
    const errors = { answers: {} };
    for (const field of fields) {
      let code = null;
      if (field.key === "consent" && field.missing()) code = "consent_required";
      else if ((field.required || !field.question) && field.missing()) code = "required";
      else if (field.invalid()) code = "invalid_email";
      if (!code) continue;
      const message = [FIELD_MESSAGES[code][widget.lang]];
      if (field.question) errors.answers[field.key] = message;
      else errors[field.key] = message;
    }
    return errors;
  }

  /** Check, send, and show the result or the server's errors next to the fields. */
  async function submit(widget, seminar, fields, summary, status) {
    if (widget.sending) return; // a second Enter while the first is on its way
    const hints = clientErrors(widget, fields);
    if (showErrors(widget, fields, summary, hints, null)) return;
    const own = (key) => fields.find((field) => !field.question && field.key === key).value();
    const body = {
      name: own("name"), email: own("email"), consent: own("consent"),
      language: widget.lang, answers: {},
      // Origin and path only: a query string may carry things that are nobody's business.
      source_page: (location.origin + location.pathname).slice(0, 500),
    };
    for (const field of fields.filter((field) => field.question)) body.answers[field.key] = field.value();
    widget.sending = true;
    status.textContent = widget.text.sending;
    try {
      const answer = await api(widget, "/api/v1/events/" + seminar.id + "/registrations", body);
      status.textContent = "";
      if (answer.status === 201) return showDone(widget, answer.body.status, body.email.trim().toLowerCase());
      const problem = answer.body || {};
      showErrors(widget, fields, summary, problem.errors || {}, problem.errors ? null : detailOf(widget, problem));
    } catch (failure) {
      status.textContent = "";
      showErrors(widget, fields, summary, {}, widget.text.notSent);
    } finally {
      widget.sending = false;
    }
  }

  /** Mark each field's error next to it and list them all in the alert; true if there were any. */
  function showErrors(widget, fields, summary, errors, general) {
    const answers = errors.answers && typeof errors.answers === "object" ? errors.answers : {};
    const items = [];
    let first = null;
    for (const field of fields) {
      const messages = field.question ? answers[field.key] : errors[field.key];
      const message = Array.isArray(messages) ? messages.join(" ") : null;
      field.error.textContent = message || "";
      field.error.hidden = !message;
      if (message) {
        field.input.setAttribute("aria-invalid", "true");
        field.input.setAttribute("aria-describedby", field.error.id);
        items.push(el("li", {}, field.label + ": " + message));
        first = first || field.input;
      } else {
        field.input.removeAttribute("aria-invalid");
        field.input.removeAttribute("aria-describedby");
      }
    }
    if (general) items.push(el("li", {}, general));
    if (!items.length) {
      summary.replaceChildren();
      return false;
    }
    summary.replaceChildren(el("h3", {}, widget.text.checkEntries), el("ul", {}, ...items));
    // The alert is read out; the focus goes where the first correction is needed.
    const target = first && first.tagName === "FIELDSET" ? first.querySelector("input") : first;
    if (target) target.focus();
    return true;
  }

  /** After success: what happens next, in the participant's language. */
  /** What happens next, naming the address the mail went to and where else to look for it. */
  function showDone(widget, status, address) {
    const text = widget.text;
    const message = el("div", { class: "notice", role: "status", tabindex: "-1" },
      el("p", {}, text[status] || text.pending),
      el("p", {}, text.sentTo.replace("{address}", address) + " " + text.spam));
    show(widget, el("h2", {}, text.thanks), message);
    message.focus();
  }
})();
