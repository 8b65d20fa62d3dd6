// Profile and place: POST /api/v1/conversations, by postal code (with the commune picker when the code covers
// several forces), by a commune searched by its name (GET /api/v1/communes), or sans localisation. French messages
// (and the national numbers) when the code is unknown, with those two other ways in. On success the tchat page
// replaces this one.
import { _, LANG } from "./i18n.js";
import { errorText } from "./errors.js";
import { write, remove } from "./session.js";
import { go } from "./visitor.js";

const form = document.getElementById("commencer");
const button = document.getElementById("commencer-bouton");
const postal = document.getElementById("lieu-code");
const byName = document.getElementById("lieu-recherche");
const byNameState = document.getElementById("lieu-recherche-etat");
const found = document.getElementById("resultats-nom");
const unlocated = document.getElementById("sans-lieu");
const communeSet = document.getElementById("champ-commune");
const communeList = document.getElementById("liste-communes");
const problem = document.getElementById("probleme");
const problemTitle = document.getElementById("probleme-titre");
const problemText = document.getElementById("probleme-texte");
const problemWays = document.getElementById("probleme-lieu");

const ANSWERED_BY = {
  police: _("Vous répondra : police nationale"),
  gendarmerie: _("Vous répondra : gendarmerie nationale"),
};
// Metropolitan and overseas codes are five digits; Corsica's 2A/2B never appear in postal codes (20xxx).
const POSTAL_CODE = /^\d{5}$/;
// The search waits for a pause in typing (250 ms) rather than asking the server at every key.
const SEARCH_DELAY_MS = 250;
// Two letters at least: one letter matches thousands of communes.
const SEARCH_MIN_CHARS = 2;
const NO_PLACE = _("Indiquez un code postal, cherchez votre commune par son nom, ou cochez « Je ne veux pas le "
  + "dire / je ne sais pas ».");

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

function showProblem(title, text, { focus = true, ways = false } = {}) {
  problemTitle.textContent = title;
  problemText.textContent = text;
  problemWays.hidden = !ways;
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

function radio(name, index, commune, hintText) {
  const element = document.createElement("div");
  element.className = "fr-fieldset__element";
  const group = document.createElement("div");
  group.className = "fr-radio-group";
  const input = document.createElement("input");
  input.type = "radio";
  input.name = name;
  input.value = commune.insee;
  input.id = `${name}-${index}`;
  const label = document.createElement("label");
  label.className = "fr-label";
  label.htmlFor = input.id;
  label.textContent = commune.name;
  if (hintText) {
    const hint = document.createElement("span");
    hint.className = "fr-hint-text";
    hint.textContent = hintText;
    label.append(hint);
  }
  group.append(input, label);
  element.append(group);
  return element;
}

function answeredBy(commune) {
  return commune.force && ANSWERED_BY[commune.force] ? ANSWERED_BY[commune.force] : "";
}

// ---- the commune picker of a postal code that spans both forces ----------------------------------------------

function buildCommunePicker(code, communes) {
  communesFor = code;
  communeList.textContent = "";
  communes.forEach((commune, index) => communeList.append(radio("insee", index, commune, answeredBy(commune))));
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

function postalDigits() {
  // People paste "54 120" or type a space by habit: only the digits count.
  return postal.value.replace(/\D/g, "").slice(0, 5);
}

postal.addEventListener("input", () => {
  const digits = postalDigits();
  if (communesFor && digits !== communesFor) clearCommunePicker();
  fieldError("champ-code", "erreur-code", "");
  if (postal.value.trim()) clearSearch({ keepText: false });
});

// ---- the search by name ---------------------------------------------------------------------------------------

let searchTimer = null;
let searchToken = 0;

function clearSearch({ keepText = true } = {}) {
  clearTimeout(searchTimer);
  searchToken += 1;
  found.textContent = "";
  byNameState.textContent = "";
  if (!keepText) byName.value = "";
}

function chosenByName() {
  return checked("lieu-recherche");
}

function showFound(query, communes) {
  found.textContent = "";
  if (!communes.length) {
    byNameState.textContent = _("Aucune commune trouvée pour « {query} ». Vérifiez l'orthographe, indiquez le code "
      + "postal, ou cochez « Je ne veux pas le dire / je ne sais pas ».", { query });
    return;
  }
  byNameState.textContent = communes.length === 1 ? _("1 commune trouvée : choisissez-la pour continuer.")
    : _("Communes trouvées : {count}. Choisissez la vôtre.", { count: communes.length });
  const set = document.createElement("fieldset");
  set.className = "fr-fieldset pnav-search__set";
  const legend = document.createElement("legend");
  legend.className = "fr-sr-only";
  legend.textContent = _("Communes trouvées");
  set.append(legend);
  communes.forEach((commune, index) => {
    const where = [commune.department_name, `(${commune.department})`].filter(Boolean).join(" ");
    set.append(radio("lieu-recherche", index, commune, [where, answeredBy(commune)].filter(Boolean).join(" — ")));
  });
  found.append(set);
}

async function search() {
  const query = byName.value.trim();
  const token = ++searchToken;
  if (query.length < SEARCH_MIN_CHARS) {
    found.textContent = "";
    byNameState.textContent = "";
    return;
  }
  let data = null;
  try {
    const response = await fetch(`/api/v1/communes?q=${encodeURIComponent(query)}`, {
      headers: { accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
    data = response.ok ? await response.json() : null;
  } catch {
    data = null;
  }
  if (token !== searchToken) return; // a newer search is on its way
  if (!data || !Array.isArray(data.communes)) {
    byNameState.textContent = _("La recherche n'a pas abouti. Vérifiez votre connexion, ou indiquez le code postal.");
    return;
  }
  showFound(query, data.communes);
}

byName.addEventListener("input", () => {
  clearTimeout(searchTimer);
  if (byName.value.trim()) {
    postal.value = "";
    clearCommunePicker();
    fieldError("champ-code", "erreur-code", "");
  }
  searchTimer = setTimeout(search, SEARCH_DELAY_MS);
});

// ---- sans localisation ----------------------------------------------------------------------------------------

function drawUnlocated() {
  for (const input of [postal, byName]) input.disabled = unlocated.checked;
  if (unlocated.checked) {
    fieldError("champ-code", "erreur-code", "");
    clearCommunePicker();
    for (const input of found.querySelectorAll("input")) input.disabled = true;
  } else {
    for (const input of found.querySelectorAll("input")) input.disabled = false;
  }
}

unlocated.addEventListener("change", drawUnlocated);

document.getElementById("probleme-nom").addEventListener("click", () => {
  hideProblem();
  postal.value = "";
  fieldError("champ-code", "erreur-code", "");
  byName.focus();
});

document.getElementById("probleme-sans-lieu").addEventListener("click", () => {
  hideProblem();
  unlocated.checked = true;
  drawUnlocated();
  form.requestSubmit();
});

// ---- validation and start -------------------------------------------------------------------------------------

function placeOf() {
  if (unlocated.checked) return { unlocated: true };
  const insee = chosenByName();
  if (insee) return { insee };
  const code = postalDigits();
  const body = { postal_code: code };
  const picked = communesFor === code ? checked("insee") : null;
  if (picked) body.insee = picked;
  return body;
}

function validate() {
  let ok = true;
  let firstBad = null;
  if (!checked("category")) {
    fieldError("champ-tchat", "erreur-tchat", _("Choisissez l'un des trois tchats."));
    firstBad = firstBad || form.querySelector('input[name="category"]');
    ok = false;
  } else fieldError("champ-tchat", "erreur-tchat", "");
  if (!checked("role")) {
    fieldError("champ-profil", "erreur-profil", _("Indiquez si vous êtes victime, témoin, proche ou professionnel."));
    firstBad = firstBad || form.querySelector('input[name="role"]');
    ok = false;
  } else fieldError("champ-profil", "erreur-profil", "");
  const place = placeOf();
  if (!place.unlocated && !place.insee) {
    const code = postalDigits();
    if (!postal.value.trim() && found.querySelector("input")) {
      fieldError("champ-code", "erreur-code", "");
      byNameState.textContent = _("Choisissez votre commune dans la liste.");
      firstBad = firstBad || found.querySelector("input");
      ok = false;
    } else if (!postal.value.trim()) {
      fieldError("champ-code", "erreur-code", NO_PLACE);
      firstBad = firstBad || postal;
      ok = false;
    } else if (!POSTAL_CODE.test(code) || postal.value.replace(/[\s\d]/g, "")) {
      const text = _("Le code postal s'écrit avec 5 chiffres, par exemple 75011 ou 97400.");
      fieldError("champ-code", "erreur-code", text);
      // The national numbers and the other ways in too: a person who cannot give a code still gets somewhere.
      showProblem(_("Ce code postal n'est pas valide"), text, { focus: false, ways: true });
      firstBad = firstBad || postal;
      ok = false;
    } else if (ok && communesFor === code && !checked("insee")) {
      fieldError("champ-commune", "erreur-commune", _("Choisissez votre commune dans la liste."));
      firstBad = communeList.querySelector("input");
      ok = false;
    }
  }
  if (firstBad) firstBad.focus();
  return ok;
}

async function submit(event) {
  event.preventDefault();
  hideProblem();
  if (!validate()) return;
  const body = { category: checked("category"), role: checked("role"), language: LANG, ...placeOf() };
  button.disabled = true;
  button.textContent = _("Ouverture du tchat…");
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
    button.textContent = _("Commencer le tchat");
  }
  if (!response) {
    showProblem(_("Pas de connexion"), _("Le tchat n'a pas pu être joint. Vérifiez votre connexion internet puis "
      + "réessayez."));
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
  const message = errorText(error, _("Une erreur est survenue. Réessayez dans un instant."));
  switch (error.code) {
    case "commune_required":
      buildCommunePicker(body.postal_code, error.communes || []);
      return;
    case "invalid_postal_code":
      fieldError("champ-code", "erreur-code", message);
      postal.focus();
      showProblem(_("Ce code postal n'est pas valide"), message, { ways: true });
      return;
    case "unknown_postal_code":
      fieldError("champ-code", "erreur-code", message);
      showProblem(_("Ce code postal est inconnu"), message, { ways: true });
      return;
    case "insee_not_in_postal_code":
    case "unknown_commune":
      clearCommunePicker();
      showProblem(_("La commune ne correspond pas"), message, { ways: true });
      return;
    default:
      showProblem(_("Le tchat n'a pas pu démarrer"), message);
  }
}

form.addEventListener("submit", submit);
