// The consent form of a proposed signalement (frame "consent_request", defined by escalation/consent.py): shows
// exactly what is sent and to whom, asks for contact details and explicit consent, posts to the URLs the frame
// gives, and shows the follow-up code once. Refusing keeps the tchat anonymous.
import { write } from "./session.js";

let counter = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = String(text);
  return node;
}

function field(spec, prefix) {
  const id = `${prefix}-${spec.name}`;
  if (spec.type === "checkbox") {
    const group = el("div", "fr-checkbox-group fr-mt-2w");
    const input = el("input");
    input.type = "checkbox";
    input.id = id;
    input.name = spec.name;
    if (spec.required) input.required = true;
    const label = el("label", "fr-label", spec.label);
    label.htmlFor = id;
    group.append(input, label);
    return group;
  }
  const group = el("div", "fr-input-group");
  const label = el("label", "fr-label", spec.label);
  label.htmlFor = id;
  if (spec.required) label.append(el("span", null, " (obligatoire)"));
  if (spec.hint) label.append(el("span", "fr-hint-text", spec.hint));
  const input = el("input", "fr-input");
  input.id = id;
  input.name = spec.name;
  input.type = ["tel", "email", "text"].includes(spec.type) ? spec.type : "text";
  if (spec.max_length) input.maxLength = spec.max_length;
  if (spec.required) input.required = true;
  input.autocomplete = spec.type === "tel" ? "tel" : spec.type === "email" ? "email" : "off";
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

// Returns the <section>; `announce(text)` reads outcomes aloud.
export function renderConsent(frame, token, announce) {
  counter += 1;
  const prefix = `consentement-${counter}`;
  const section = el("section", "pnav-card pnav-card--consent_request pnav-consent");
  section.setAttribute("aria-labelledby", `${prefix}-titre`);
  section.dataset.proposal = String(frame.proposal || "");
  const title = el("h3", "pnav-card__title", frame.title || "Transmettre un signalement");
  title.id = `${prefix}-titre`;
  title.tabIndex = -1;
  section.append(title);
  if (frame.text) section.append(el("p", "pnav-card__text", frame.text));

  if (Array.isArray(frame.sent) && frame.sent.length) {
    section.append(el("h4", "pnav-consent__subtitle", "Ce qui sera transmis"));
    const list = el("dl", "pnav-consent__sent");
    for (const item of frame.sent) {
      list.append(el("dt", null, item.label), el("dd", null, item.value));
    }
    section.append(list);
  }
  if (frame.service && frame.service.name) {
    section.append(el("h4", "pnav-consent__subtitle", "À qui"));
    const who = [frame.service.name, frame.service.address, frame.service.phone].filter(Boolean).join(" — ");
    section.append(el("p", "pnav-card__text", who));
  }
  if (frame.why) section.append(el("p", "pnav-card__text", frame.why));

  const form = el("form", "pnav-consent__form");
  form.noValidate = true;
  const fieldset = el("fieldset", "pnav-consent__fields");
  fieldset.append(el("legend", "pnav-consent__subtitle", "Vos coordonnées"));
  const consentText = el("p", "pnav-consent__text", frame.consent_text || "");
  consentText.id = `${prefix}-texte`;
  for (const spec of Array.isArray(frame.fields) ? frame.fields : []) {
    if (spec.name === "consent") fieldset.append(consentText);
    const node = field(spec, prefix);
    if (spec.name === "consent") node.querySelector("input").setAttribute("aria-describedby", consentText.id);
    fieldset.append(node);
  }
  const problem = el("p", "fr-error-text pnav-consent__problem");
  problem.hidden = true;
  problem.setAttribute("role", "alert");
  const buttons = el("div", "pnav-consent__buttons");
  const accept = el("button", "fr-btn", "Transmettre le signalement");
  accept.type = "submit";
  const refuse = el("button", "fr-btn fr-btn--secondary", "Non merci, rester anonyme");
  refuse.type = "button";
  buttons.append(accept, refuse);
  form.append(fieldset, problem, buttons);
  section.append(form);

  function showProblem(text, name) {
    for (const box of form.querySelectorAll(".fr-input-group .fr-error-text")) box.hidden = true;
    for (const group of form.querySelectorAll(".fr-input-group--error")) group.classList.remove("fr-input-group--error");
    const input = name ? form.querySelector(`[name="${name}"]`) : null;
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

  function done(node) {
    form.remove();
    section.append(node);
    title.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { token, proposal: frame.proposal, consent_version: frame.consent_version };
    for (const input of form.querySelectorAll("input")) {
      body[input.name] = input.type === "checkbox" ? input.checked : input.value.trim();
    }
    if (body.consent !== true) {
      showProblem("Cochez la case de consentement pour transmettre le signalement.", "consent");
      return;
    }
    accept.disabled = true;
    const { status, data } = await post((frame.submit && frame.submit.url) || "/api/v1/signalements", body);
    accept.disabled = false;
    if (status === 201 && data && data.followup_code) {
      write("followup", data.followup_code);
      const box = el("div", "pnav-consent__done");
      box.append(el("p", "pnav-card__text", data.message || "Votre signalement a été transmis."));
      box.append(el("p", "pnav-consent__subtitle", "Votre code de suivi"));
      box.append(el("p", "pnav-code", data.followup_code));
      done(box);
      announce(`Signalement transmis. Votre code de suivi est ${data.followup_code}.`);
      return;
    }
    const error = (data && data.error) || {};
    showProblem(error.message || "L'envoi n'a pas abouti. Vérifiez votre connexion puis réessayez.", error.field);
  });

  refuse.addEventListener("click", async () => {
    refuse.disabled = true;
    const { status, data } = await post((frame.refuse && frame.refuse.url) || "/api/v1/signalements/refuse",
      { token, proposal: frame.proposal });
    refuse.disabled = false;
    if (status >= 200 && status < 300) {
      done(el("p", "pnav-card__text", (data && data.message) || "C'est noté : rien n'a été transmis."));
      announce("Rien n'a été transmis. La conversation continue de façon anonyme.");
      return;
    }
    const error = (data && data.error) || {};
    showProblem(error.message || "La réponse n'a pas pu être envoyée. Réessayez.");
  });
  return section;
}

// Asks the server for a consent form still waiting for an answer (after a reload); null when there is none.
export async function pendingConsent(token) {
  const { status, data } = await post("/api/v1/signalements/pending", { token });
  return status === 200 && data && data.type === "consent_request" ? data : null;
}
