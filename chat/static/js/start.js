// Profile and postal code: POST /api/v1/conversations, the commune picker when the code covers several forces,
// French messages (and the national numbers) when the code is unknown. On success the tchat page replaces this one.
import { write, remove } from "./session.js";
import { go } from "./visitor.js";

const form = document.getElementById("commencer");
const button = document.getElementById("commencer-bouton");
const postal = document.getElementById("code-postal");
const communeSet = document.getElementById("champ-commune");
const communeList = document.getElementById("liste-communes");
const problem = document.getElementById("probleme");
const problemTitle = document.getElementById("probleme-titre");
const problemText = document.getElementById("probleme-texte");

const FORCE_LABELS = { police: "police nationale", gendarmerie: "gendarmerie nationale" };
// Metropolitan and overseas codes are five digits; Corsica's 2A/2B never appear in postal codes (20xxx).
const POSTAL_CODE = /^\d{5}$/;

let communesFor = null; // the postal code the picker was built for

function fieldError(groupId, messageId, text) {
  const group = document.getElementById(groupId);
  const box = document.getElementById(messageId);
  const isInput = group.classList.contains("fr-input-group");
  const errorClass = isInput ? "fr-input-group--error" : "fr-fieldset--error";
  const input = group.querySelector("input.fr-input");
  box.textContent = "";
  if (text) {
    const p = document.createElement("p");
    p.className = "fr-message fr-message--error";
    p.textContent = text;
    box.append(p);
    group.classList.add(errorClass);
    if (input) {
      input.classList.add("fr-input--error");
      input.setAttribute("aria-invalid", "true");
    }
  } else {
    group.classList.remove(errorClass);
    if (input) {
      input.classList.remove("fr-input--error");
      input.removeAttribute("aria-invalid");
    }
  }
}

function showProblem(title, text, { focus = true } = {}) {
  problemTitle.textContent = title;
  problemText.textContent = text;
  problem.hidden = false;
  if (focus) problem.focus();
}

function hideProblem() {
  problem.hidden = true;
}

function checked(name) {
  const input = form.querySelector(`input[name="${name}"]:checked`);
  return input ? input.value : null;
}

function buildCommunePicker(code, communes) {
  communesFor = code;
  communeList.textContent = "";
  communes.forEach((commune, index) => {
    const element = document.createElement("div");
    element.className = "fr-fieldset__element";
    const group = document.createElement("div");
    group.className = "fr-radio-group";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "insee";
    input.value = commune.insee;
    input.id = `commune-${index}`;
    const label = document.createElement("label");
    label.className = "fr-label";
    label.htmlFor = input.id;
    label.textContent = commune.name;
    if (commune.force && FORCE_LABELS[commune.force]) {
      const hint = document.createElement("span");
      hint.className = "fr-hint-text";
      hint.textContent = `Vous répondra : ${FORCE_LABELS[commune.force]}`;
      label.append(hint);
    }
    group.append(input, label);
    element.append(group);
    communeList.append(element);
  });
  communeSet.hidden = false;
  const first = communeList.querySelector("input");
  if (first) first.focus();
}

function clearCommunePicker() {
  communesFor = null;
  communeList.textContent = "";
  communeSet.hidden = true;
  fieldError("champ-commune", "erreur-commune", "");
}

postal.addEventListener("input", () => {
  // Only digits: people paste "75 011" or type letters by mistake on a phone keyboard.
  const digits = postal.value.replace(/\D/g, "").slice(0, 5);
  if (digits !== postal.value) postal.value = digits;
  if (communesFor && digits !== communesFor) clearCommunePicker();
  fieldError("champ-code", "erreur-code", "");
});

function validate() {
  let ok = true;
  let firstBad = null;
  if (!checked("category")) {
    fieldError("champ-tchat", "erreur-tchat", "Choisissez l'un des trois tchats.");
    firstBad = firstBad || form.querySelector('input[name="category"]');
    ok = false;
  } else fieldError("champ-tchat", "erreur-tchat", "");
  if (!checked("role")) {
    fieldError("champ-profil", "erreur-profil", "Indiquez si vous êtes victime, témoin, proche ou professionnel.");
    firstBad = firstBad || form.querySelector('input[name="role"]');
    ok = false;
  } else fieldError("champ-profil", "erreur-profil", "");
  const code = postal.value.trim();
  if (!POSTAL_CODE.test(code)) {
    const text = "Le code postal s'écrit avec 5 chiffres, par exemple 75011 ou 97400.";
    fieldError("champ-code", "erreur-code", text);
    // The national numbers too: a person who cannot give a postal code still gets somewhere to turn.
    showProblem("Ce code postal n'est pas valide", text, { focus: false });
    firstBad = firstBad || postal;
    ok = false;
  }
  if (ok && communesFor === code && !checked("insee")) {
    fieldError("champ-commune", "erreur-commune", "Choisissez votre commune dans la liste.");
    firstBad = communeList.querySelector("input");
    ok = false;
  }
  if (firstBad) firstBad.focus();
  return ok;
}

async function submit(event) {
  event.preventDefault();
  hideProblem();
  if (!validate()) return;
  const code = postal.value.trim();
  const body = { category: checked("category"), role: checked("role"), postal_code: code };
  const insee = communesFor === code ? checked("insee") : null;
  if (insee) body.insee = insee;
  button.disabled = true;
  button.textContent = "Ouverture du tchat…";
  let response;
  let data = null;
  try {
    response = await fetch("/api/v1/conversations", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    data = await response.json().catch(() => null);
  } catch {
    response = null;
  } finally {
    button.disabled = false;
    button.textContent = "Commencer le tchat";
  }
  if (!response) {
    showProblem("Pas de connexion", "Le tchat n'a pas pu être joint. Vérifiez votre connexion internet puis réessayez.");
    return;
  }
  if (response.status === 201 && data && data.token) {
    remove("outbox");
    remove("highest_seq");
    remove("read_seq");
    remove("end"); // the follow-up codes of earlier tchats stay: the tab keeps them until it closes
    write("tchat", {
      token: data.token,
      id: data.id,
      category: body.category,
      force: data.force,
      commune: data.commune || null,
      started: Date.now(),
    });
    go("/tchat");
    return;
  }
  const error = (data && data.error) || {};
  const message = error.message || "Une erreur est survenue. Réessayez dans un instant.";
  switch (error.code) {
    case "commune_required":
      buildCommunePicker(code, error.communes || []);
      return;
    case "invalid_postal_code":
      fieldError("champ-code", "erreur-code", message);
      postal.focus();
      showProblem("Ce code postal n'est pas valide", message);
      return;
    case "unknown_postal_code":
      fieldError("champ-code", "erreur-code", message);
      showProblem("Ce code postal est inconnu", message);
      return;
    case "insee_not_in_postal_code":
      clearCommunePicker();
      showProblem("La commune ne correspond pas", message);
      return;
    default:
      showProblem("Le tchat n'a pas pu démarrer", message);
  }
}

form.addEventListener("submit", submit);
