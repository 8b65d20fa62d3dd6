// The anonymous feedback on the end page (issue 21). Loaded before end.js, which forgets the tchat: the token is
// kept under "feedback" (sessionStorage, gone with the tab) until the answer is sent or refused, never longer.
import { _ } from "./i18n.js";
import { errorText } from "./errors.js";
import { read, remove, write } from "./session.js";

const section = document.getElementById("avis");
const tchat = read("tchat");
if (tchat && typeof tchat.token === "string") write("feedback", { token: tchat.token });
const pending = read("feedback");

function finish(text) {
  remove("feedback");
  document.getElementById("avis-form").hidden = true;
  const thanks = document.getElementById("avis-merci");
  thanks.textContent = text;
  thanks.hidden = false;
  thanks.focus();
}

if (section && pending && typeof pending.token === "string") {
  section.hidden = false;
  const form = document.getElementById("avis-form");
  const error = document.getElementById("avis-note-erreur");
  const button = document.getElementById("avis-envoyer");
  // An answer chosen: the reminder to choose one has done its job.
  for (const radio of form.querySelectorAll("input[name=score]")) {
    radio.addEventListener("change", () => { error.hidden = true; });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=score]:checked");
    if (!chosen) {
      error.hidden = false;
      form.querySelector("input[name=score]").focus();
      return;
    }
    error.hidden = true;
    button.disabled = true;
    const body = { token: pending.token, score: Number(chosen.value) };
    const comment = form.elements.comment.value.trim();
    if (comment) body.comment = comment;
    try {
      const response = await fetch("/api/v1/feedback", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      if (response.status === 201) {
        finish(_("Merci, votre avis est enregistré."));
        return;
      }
      const answer = await response.json().catch(() => null);
      const message = errorText(answer && answer.error);
      if (response.status === 401 || response.status === 409) finish(message || _("Merci."));
      else {
        button.disabled = false;
        error.textContent = message || _("Votre avis n'a pas pu être envoyé. Réessayez dans un instant.");
        error.hidden = false;
      }
    } catch {
      button.disabled = false;
      error.textContent = _("Pas de réseau pour le moment : réessayez dans un instant.");
      error.hidden = false;
    }
  });
}
