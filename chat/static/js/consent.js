// The consent form of a proposed signalement (frame "consent_request", defined by escalation/consent.py): shows
// exactly what is sent and to whom, asks for contact details and explicit consent, posts to the URLs the frame
// gives. Refusing keeps the tchat anonymous. Its answer is drawn once (showAnswer), whether it comes from this
// form's request or from the consent_result event (live, or replayed after a reload).
//
// The browser must not remember any of it (a borrowed phone): autocomplete is off, and no field carries a name, id
// or type that autofill would recognise (name, tel, email…): the form reads its fields by data-field.
import { _, LANG } from "./i18n.js";
import { errorText } from "./errors.js";
import { T } from "./strings.js";

let counter = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = String(text);
  return node;
}

// Keyboards still fit the field (digits for a phone number, @ for an e-mail address) through inputmode.
const INPUT_MODES = { tel: "tel", email: "email" };

// Text written by the server: in the tchat's language (the frame's `language`; French when it has none), and the
// consent text's French reference. A screen reader reads a part in another language than the page with its voice.
function written(node, lang = "fr") {
  if (LANG !== lang) node.lang = lang;
  return node;
}

function field(spec, prefix, index, lang) {
  const id = `${prefix}-${index}`;
  if (spec.type === "checkbox") {
    const group = el("div", "fr-checkbox-group fr-mt-2w");
    const input = el("input");
    input.type = "checkbox";
    input.id = id;
    input.dataset.field = spec.name;
    if (spec.required) input.required = true;
    const label = written(el("label", "fr-label", spec.label), lang);
    label.htmlFor = id;
    group.append(input, label);
    return group;
  }
  const group = el("div", "fr-input-group");
  const label = written(el("label", "fr-label", spec.label), lang);
  label.htmlFor = id;
  if (spec.required) {
    const required = el("span", null, ` ${_("(obligatoire)")}`);
    required.lang = LANG;
    label.append(required);
  }
  if (spec.hint) label.append(written(el("span", "fr-hint-text", spec.hint), lang));
  const input = el("input", "fr-input");
  input.id = id;
  input.dataset.field = spec.name;
  input.type = "text";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.dir = "auto";
  if (INPUT_MODES[spec.type]) {
    input.inputMode = INPUT_MODES[spec.type];
    input.setAttribute("autocapitalize", "off");
  }
  if (spec.max_length) input.maxLength = spec.max_length;
  if (spec.required) input.required = true;
  const error = el("p", "fr-error-text");
  error.id = `${id}-erreur`;
  error.hidden = true;
  input.setAttribute("aria-describedby", error.id);
  group.append(label, input, error);
  return group;
}

async function post(url, body) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    return { status: response.status, data: await response.json().catch(() => null) };
  } catch {
    return { status: 0, data: null };
  }
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers, or no permission: select the code and ask for a copy the old way.
    const area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "fr-sr-only";
    document.body.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch {
      done = false;
    }
    area.remove();
    return done;
  }
}

// The follow-up code, for reading aloud or copying; shown in this tab for as long as it lives (the end page shows it
// too, under its own heading: `titled` false).
export function codeBlock(code, prefix, { titled = true } = {}) {
  const box = el("div", "pnav-followup");
  const value = el("p", "pnav-code", code);
  value.setAttribute("translate", "no");
  if (titled) {
    const title = el("p", "pnav-consent__subtitle", T.yourCode);
    title.id = `${prefix}-code-titre`;
    box.append(title);
  }
  const hint = el("p", "pnav-card__text", T.codeHint);
  const button = el("button", "fr-btn fr-btn--sm fr-btn--secondary pnav-followup__copy", T.copyCode);
  button.type = "button";
  const status = el("p", "pnav-followup__status");
  status.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    status.textContent = (await copy(code)) ? T.copied : T.copyFailed;
  });
  const clipboard = el("p", "fr-hint-text pnav-followup__hint", T.clipboardHint);
  box.append(value, hint, button, status, clipboard);
  return box;
}

// Draw the answer in place of the form, once; a code learnt later (the HTTP answer after the event) is added.
export function showAnswer(section, { accepted, service = "", code = null }) {
  const prefix = section.dataset.prefix;
  if (!section.dataset.answer) {
    section.dataset.answer = accepted ? "accepted" : "refused";
    section.querySelector("form")?.remove();
    const box = el("div", "pnav-consent__done");
    box.tabIndex = -1; // the answer takes the focus: a person sees the result (and the code) where it appears
    if (accepted) {
      box.append(el("p", "pnav-card__text pnav-consent__result", T.signalementSent));
      if (service) box.append(el("p", "pnav-card__text", T.sentTo(service)));
    } else {
      box.append(el("p", "pnav-card__text pnav-consent__result", T.nothingSent));
    }
    section.append(box);
  }
  if (accepted && code && !section.querySelector(".pnav-followup")) {
    section.querySelector(".pnav-consent__done").append(codeBlock(code, prefix));
  }
}

function documentBox(doc, prefix, index, described) {
  const group = el("div", "fr-checkbox-group");
  const box = el("input");
  box.type = "checkbox";
  box.id = `${prefix}-document-${index}`;
  box.checked = true;
  box.dataset.document = String(doc.id);
  if (described) box.setAttribute("aria-describedby", `${prefix}-documents-aide`);
  const label = el("label", "fr-label", `${doc.name} — ${T.fileKind(doc.media_type)}, ${T.fileSize(doc.size)}`);
  label.htmlFor = box.id;
  label.append(el("span", "fr-hint-text", `${T.fingerprint} ${String(doc.sha256 || "").slice(0, 16)}…`));
  group.append(box, label);
  return group;
}

// The files of the tchat, each ticked: the visitor unticks those she does not want to hand over.
function documentChoice(documents, prefix, hint) {
  const fieldset = el("fieldset", "pnav-consent__fields pnav-consent__documents");
  fieldset.append(el("legend", "pnav-consent__subtitle", T.documentsTitle));
  const p = el("p", "fr-hint-text", hint || "");
  p.id = `${prefix}-documents-aide`;
  fieldset.append(p);
  documents.forEach((doc, index) => fieldset.append(documentBox(doc, prefix, index, true)));
  return fieldset;
}

// A file attached while the form waits for an answer joins its list, ticked like the others.
export function addDocument(section, doc) {
  const form = section.querySelector("form");
  if (!form || !doc || !doc.id || form.querySelector(`[data-document="${CSS.escape(String(doc.id))}"]`)) return;
  const prefix = section.dataset.prefix;
  let fieldset = form.querySelector(".pnav-consent__documents");
  if (!fieldset) {
    fieldset = documentChoice([], prefix, section.dataset.documentsHint || "");
    form.prepend(fieldset);
  }
  fieldset.append(documentBox(doc, prefix, fieldset.querySelectorAll("[data-document]").length, true));
}

// Returns the <section>. `announce(text)` reads outcomes aloud; `answered({accepted, service, code})` is called when
// this form's request succeeded (the page stores the code and draws the answer).
export function renderConsent(frame, token, { announce, answered }) {
  counter += 1;
  const prefix = `consentement-${counter}`;
  const section = el("section", "pnav-card pnav-card--consent_request pnav-consent");
  section.setAttribute("aria-labelledby", `${prefix}-titre`);
  section.dataset.proposal = String(frame.proposal || "");
  section.dataset.prefix = prefix;
  section.dataset.documentsHint = String(frame.documents_hint || "");
  // The server writes the form in the tchat's language, except the consent text's reference, always French.
  const lang = String(frame.language || "fr");
  const translated = Boolean(frame.consent_translation);
  const title = written(el("h3", "pnav-card__title", frame.title || _("Transmettre un signalement")), lang);
  title.id = `${prefix}-titre`;
  title.tabIndex = -1;
  section.append(title);
  // A form that came in French (a French tchat read in another language, or one sent before the form was
  // translated): the page says so in its own language, and the French parts carry lang="fr".
  if (LANG !== "fr" && !translated) {
    section.append(el("p", "fr-callout pnav-consent__reference", _("Ce formulaire est en français : c'est la "
      + "version qui fait foi. Vous pouvez demander à la personne qui vous répond de vous l'expliquer.")));
  }
  if (frame.text) section.append(written(el("p", "pnav-card__text", frame.text), lang));

  if (Array.isArray(frame.sent) && frame.sent.length) {
    section.append(el("h4", "pnav-consent__subtitle", _("Ce qui sera transmis")));
    const list = el("dl", "pnav-consent__sent");
    for (const item of frame.sent) {
      const value = el("dd", null, item.value);
      value.dir = "auto";
      list.append(written(el("dt", null, item.label), lang), value);
    }
    section.append(list);
  }
  if (frame.service && frame.service.name) {
    section.append(el("h4", "pnav-consent__subtitle", _("À qui")));
    const who = [frame.service.name, frame.service.address, frame.service.phone].filter(Boolean).join(" — ");
    section.append(el("p", "pnav-card__text", who));
  }
  if (frame.why) section.append(written(el("p", "pnav-card__text", frame.why), lang));

  const form = el("form", "pnav-consent__form");
  form.noValidate = true;
  form.autocomplete = "off";
  const documents = Array.isArray(frame.documents) ? frame.documents.filter((d) => d && d.id) : [];
  if (documents.length) form.append(documentChoice(documents, prefix, frame.documents_hint));
  const fieldset = el("fieldset", "pnav-consent__fields");
  fieldset.append(el("legend", "pnav-consent__subtitle", _("Vos coordonnées")));
  // The consent text: in another language, a header saying the French is the reference, the translation, then the
  // French text itself (what CONSENT_VERSION names and what is stored with the signalement).
  const consentText = written(el("p", "pnav-consent__text", frame.consent_text || ""));
  consentText.id = `${prefix}-texte`;
  const consentParts = [consentText];
  if (translated) {
    const translation = written(el("p", "pnav-consent__translation", frame.consent_translation), lang);
    translation.id = `${prefix}-traduction`;
    const reference = written(el("p", "fr-callout pnav-consent__reference", frame.consent_reference || ""), lang);
    consentParts.unshift(reference, translation);
  }
  const describedBy = consentParts.filter((node) => node.id).map((node) => node.id).join(" ");
  (Array.isArray(frame.fields) ? frame.fields : []).forEach((spec, index) => {
    if (spec.name === "consent") fieldset.append(...consentParts);
    const node = field(spec, prefix, index, lang);
    if (spec.name === "consent") node.querySelector("input").setAttribute("aria-describedby", describedBy);
    fieldset.append(node);
  });
  const problem = el("p", "fr-error-text pnav-consent__problem");
  problem.hidden = true;
  problem.setAttribute("role", "alert");
  const buttons = el("div", "pnav-consent__buttons");
  const accept = el("button", "fr-btn", _("Transmettre le signalement"));
  accept.type = "submit";
  const refuse = el("button", "fr-btn fr-btn--secondary", _("Non merci, rester anonyme"));
  refuse.type = "button";
  buttons.append(accept, refuse);
  form.append(fieldset, problem, buttons);
  section.append(form);

  function showProblem(text, name) {
    for (const box of form.querySelectorAll(".fr-input-group .fr-error-text")) box.hidden = true;
    for (const group of form.querySelectorAll(".fr-input-group--error")) group.classList.remove("fr-input-group--error");
    const input = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
    const box = input ? document.getElementById(`${input.id}-erreur`) : null;
    if (box) {
      box.textContent = text;
      box.hidden = false;
      input.closest(".fr-input-group").classList.add("fr-input-group--error");
      input.focus();
      problem.hidden = true;
    } else {
      problem.textContent = text;
      problem.hidden = false;
      if (input) input.focus();
    }
  }

  form.addEventListener("change", () => {
    problem.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { token, proposal: frame.proposal, consent_version: frame.consent_version };
    for (const input of form.querySelectorAll("input[data-field]")) {
      body[input.dataset.field] = input.type === "checkbox" ? input.checked : input.value.trim();
    }
    // Only the documents still ticked go to the service.
    body.attachments = [...form.querySelectorAll("input[data-document]")].filter((box) => box.checked)
      .map((box) => box.dataset.document);
    if (body.consent !== true) {
      showProblem(_("Cochez la case de consentement pour transmettre le signalement."), "consent");
      return;
    }
    accept.disabled = true;
    const { status, data } = await post((frame.submit && frame.submit.url) || "/api/v1/signalements", body);
    accept.disabled = false;
    if (status === 201 && data && data.followup_code) {
      answered({ accepted: true, service: (data.service && data.service.name) || "", code: data.followup_code });
      section.querySelector(".pnav-consent__done").focus();
      announce(T.codeAnnounce(data.followup_code));
      return;
    }
    const error = (data && data.error) || {};
    showProblem(errorText(error, _("L'envoi n'a pas abouti. Vérifiez votre connexion puis réessayez.")), error.field);
  });

  refuse.addEventListener("click", async () => {
    refuse.disabled = true;
    const { status, data } = await post((frame.refuse && frame.refuse.url) || "/api/v1/signalements/refuse",
      { token, proposal: frame.proposal });
    refuse.disabled = false;
    if (status >= 200 && status < 300) {
      answered({ accepted: false });
      section.querySelector(".pnav-consent__done").focus();
      announce(T.refusedAnnounce);
      return;
    }
    const error = (data && data.error) || {};
    showProblem(errorText(error, _("La réponse n'a pas pu être envoyée. Réessayez.")));
  });
  return section;
}
