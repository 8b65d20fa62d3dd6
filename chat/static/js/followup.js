// /suivi: the anonymous status of a signalement from its follow-up code (GET /api/v1/followup/{code}), the documents
// the service received (with their receipts), and a form to add one (POST /api/v1/followup/{code}/attachments).
import { _, LANG, LOCALE } from "./i18n.js";
import { errorText } from "./errors.js";
import { Uploader, fileLine, receipt, showMatch } from "./attachments.js";
import { T } from "./strings.js";

const form = document.getElementById("suivi");
const input = document.getElementById("code");
const group = document.getElementById("champ-suivi");
const errorBox = document.getElementById("erreur-suivi");
const result = document.getElementById("resultat");
const history = document.getElementById("historique");

const dateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "long", timeStyle: "short" });

// Labels for the status codes of a signalement; an unknown code falls back to the server's own French label.
const STATUS_LABELS = {
  sent: _("Signalement transmis au service compétent"),
  transmitted: _("Signalement transmis au service compétent"),
  received: _("Signalement reçu par le service"),
  acknowledged: _("Signalement pris en compte par le service"),
  contacted: _("Le service vous a contacté"),
  contact_made: _("Le service vous a contacté"),
  unreachable: _("Le service n'a pas pu vous joindre"),
  in_progress: _("Suivi en cours"),
  closed: _("Suivi terminé"),
  done: _("Suivi terminé"),
};

function showError(text) {
  errorBox.textContent = "";
  if (!text) {
    group.classList.remove("fr-input-group--error");
    input.classList.remove("fr-input--error");
    input.removeAttribute("aria-invalid");
    return;
  }
  const p = document.createElement("p");
  p.className = "fr-message fr-message--error";
  p.textContent = text;
  errorBox.append(p);
  group.classList.add("fr-input-group--error");
  input.classList.add("fr-input--error");
  input.setAttribute("aria-invalid", "true");
}

function entriesOf(data) {
  for (const key of ["history", "status_history", "events", "statuses"]) {
    if (Array.isArray(data[key])) return data[key];
  }
  return data.status ? [{ status: data.status, at: data.updated_at || data.at }] : [];
}

function draw(data) {
  history.textContent = "";
  const entries = entriesOf(data);
  if (!entries.length) {
    const li = document.createElement("li");
    li.textContent = _("Votre signalement a bien été enregistré. Aucune étape n'a encore été indiquée par le service.");
    history.append(li);
  }
  for (const entry of entries) {
    const li = document.createElement("li");
    li.className = "pnav-history__item";
    const title = document.createElement("p");
    title.className = "pnav-history__status";
    const status = String(entry.status || "");
    // The server's label is French: in another language, the label of the status code comes first.
    const known = Object.prototype.hasOwnProperty.call(STATUS_LABELS, status) ? STATUS_LABELS[status] : "";
    title.textContent = (LANG !== "fr" && known) || entry.label || entry.message || known || _("Étape enregistrée");
    li.append(title);
    const when = new Date(entry.at || entry.created_at || "");
    if (!Number.isNaN(when.getTime())) {
      const t = document.createElement("time");
      t.dateTime = when.toISOString();
      t.textContent = dateTime.format(when);
      li.append(t);
    }
    const note = entry.note || entry.public_note;
    if (typeof note === "string" && note) {
      const p = document.createElement("p");
      p.textContent = note;
      li.append(p);
    }
    history.append(li);
  }
  drawAdvice(data.advice);
  drawDocuments(Array.isArray(data.documents) ? data.documents : [], Boolean(data.documents_open));
  result.hidden = false;
  result.focus();
}

// ---- documents ------------------------------------------------------------------------------------------------

const documents = document.getElementById("documents");
const noDocument = document.getElementById("documents-aucun");
const addForm = document.getElementById("ajout");
const addInput = document.getElementById("document");
const addKeep = document.getElementById("ajout-garder-intitule");
const addState = document.getElementById("ajout-etat");
let currentCode = null;
let uploader = null;

function documentItem(doc, local = null) {
  const li = document.createElement("li");
  li.className = "pnav-documents__item";
  li.append(fileLine(doc.name, doc.media_type, doc.size), receipt(doc, local));
  return li;
}

function drawDocuments(list, open) {
  documents.textContent = "";
  for (const doc of list) documents.append(documentItem(doc));
  noDocument.hidden = list.length > 0;
  addForm.hidden = !open;
}

function wireUploader(code) {
  uploader = new Uploader({ url: `/api/v1/followup/${encodeURIComponent(code)}/attachments`,
    maxBytes: Number(addForm.dataset.maxBytes) || 10 * 1024 * 1024 });
  uploader.addEventListener("progress", (e) => {
    addState.textContent = T.uploading(e.detail.percent);
  });
  uploader.addEventListener("waiting", (e) => {
    addState.textContent = e.detail.message;
  });
  uploader.addEventListener("failed", (e) => {
    addState.textContent = e.detail.message;
  });
  uploader.addEventListener("done", (e) => {
    const { entry, receipt: answer } = e.detail;
    const li = documentItem(answer, entry.local);
    documents.append(li);
    noDocument.hidden = true;
    addState.textContent = T.fileReceived(answer.name);
    uploader.addEventListener("digest", (d) => {
      if (d.detail === entry) showMatch(li, answer.sha256, entry.local);
    });
  });
}

addForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = addInput.files[0];
  if (!file || !currentCode) {
    addState.textContent = T.chooseFileFirst;
    addInput.focus();
    return;
  }
  if (!uploader) wireUploader(currentCode);
  uploader.add(file, addKeep.checked);
  addInput.value = "";
});

// What to do when the service could not reach the person (status « unreachable »): the server's French text, and
// the service's number as a link to call it.
function drawAdvice(advice) {
  document.getElementById("conseil-suivi")?.remove();
  if (!advice || typeof advice.text !== "string") return;
  const box = document.createElement("div");
  box.id = "conseil-suivi";
  box.className = "fr-alert fr-alert--warning fr-mt-3w";
  const title = document.createElement("h3");
  title.className = "fr-alert__title";
  title.textContent = String(advice.title || "");
  const text = document.createElement("p");
  text.textContent = advice.text;
  box.append(title, text);
  if (typeof advice.phone === "string" && advice.phone) {
    const call = document.createElement("p");
    const link = document.createElement("a");
    link.className = "fr-link";
    link.href = `tel:${advice.phone.replace(/[^0-9+]/g, "")}`;
    link.textContent = advice.service ? _("Appeler {service} : {phone}", { service: advice.service, phone: advice.phone })
      : _("Appeler le service : {phone}", { phone: advice.phone });
    call.append(link);
    box.append(call);
  }
  history.after(box);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.hidden = true;
  const code = input.value.trim().replace(/\s+/g, "");
  if (!code) {
    showError(_("Saisissez le code de suivi qui vous a été donné."));
    input.focus();
    return;
  }
  showError("");
  let response = null;
  let data = null;
  try {
    response = await fetch(`/api/v1/followup/${encodeURIComponent(code)}`, {
      headers: { accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
    data = await response.json().catch(() => null);
  } catch {
    showError(_("Le service n'a pas pu être joint. Vérifiez votre connexion internet puis réessayez."));
    return;
  }
  if (response.ok && data) {
    if (currentCode !== code) uploader = null; // another code: another signalement
    currentCode = code;
    draw(data);
    return;
  }
  const message = errorText(data && data.error);
  if (response.status === 404) {
    showError(_("Code inconnu : vérifiez qu'il est recopié sans erreur. Un code ne fonctionne qu'après la "
      + "transmission du signalement."));
  } else if (response.status === 429) {
    showError(message || _("Trop d'essais en peu de temps. Patientez quelques minutes puis réessayez."));
  } else {
    showError(message || _("Le suivi n'est pas disponible pour le moment. Réessayez plus tard."));
  }
  input.focus();
});
