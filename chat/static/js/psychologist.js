// The visitor is asked before a psychologist joins (frames psychologist_offer and psychologist_answer, defined by
// operators/invitations.py): a card with the question and two buttons; the answer goes back on the socket. The
// server sends the question again after a reload or a reconnect until it is answered. Every sentence the visitor
// reads on this card is in TEXT (one place for translations).
import { _ } from "./i18n.js";

const TEXT = {
  title: _("Une proposition pour vous"),
  question: _("Une psychologue peut se joindre à la conversation. D'accord ?"),
  explain: _("Elle lira la conversation et pourra vous écrire. Si vous refusez, la conversation continue comme avant."),
  yes: _("Oui, d'accord"),
  no: _("Non merci"),
  accepted: _("Vous avez accepté. Une psychologue va rejoindre la conversation dès qu'elle sera disponible."),
  declined: _("C'est noté : la conversation continue sans psychologue."),
  offline: _("Pas de connexion pour l'instant : votre réponse n'est pas partie. Réessayez dans un instant."),
  announced: _("Question : une psychologue peut-elle se joindre à la conversation ? Répondez oui ou non."),
};

let counter = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

// `list` is the <ol> of messages; `announce(text)` reads aloud; `reveal(node)` brings the card into view.
export function wirePsychologistOffer(client, { list, announce, reveal }) {
  let shown = null; // { invitation, item, answers, status }

  function settle(accepted) {
    shown.answers.remove();
    shown.status.textContent = accepted ? TEXT.accepted : TEXT.declined;
    shown.status.hidden = false;
    shown.answered = true;
  }

  function answer(accept) {
    if (!shown || shown.answered) return;
    if (!client.sendFrame({ type: "psychologist_answer", invitation: shown.invitation, accept })) {
      shown.status.textContent = TEXT.offline;
      shown.status.hidden = false;
      return;
    }
    for (const button of shown.answers.querySelectorAll("button")) button.disabled = true;
    shown.status.hidden = true;
  }

  client.addEventListener("psychologist_offer", (event) => {
    const frame = event.detail;
    const invitation = String(frame.invitation || "");
    if (!invitation || (shown && shown.invitation === invitation)) return; // the same question, sent again
    if (shown && !shown.answered) shown.item.remove(); // a newer question replaces an unanswered one
    counter += 1;
    const item = el("li", "pnav-message pnav-message--card");
    const card = el("section", "pnav-card pnav-card--psychologist");
    const titleId = `psychologue-${counter}-titre`;
    card.setAttribute("aria-labelledby", titleId);
    const title = el("h3", "pnav-card__title", TEXT.title);
    title.id = titleId;
    const answers = el("div", "pnav-card__answers");
    const yes = el("button", "fr-btn fr-btn--sm", TEXT.yes);
    const no = el("button", "fr-btn fr-btn--sm fr-btn--secondary", TEXT.no);
    for (const [button, accept] of [[yes, true], [no, false]]) {
      button.type = "button";
      button.addEventListener("click", () => answer(accept));
      answers.append(button);
    }
    const status = el("p", "pnav-card__text pnav-card__status");
    status.setAttribute("role", "status");
    status.hidden = true;
    card.append(title, el("p", "pnav-card__text", TEXT.question), el("p", "pnav-card__text", TEXT.explain), answers,
      status);
    item.append(card);
    list.append(item);
    shown = { invitation, item, answers, status, answered: false };
    announce(TEXT.announced);
    reveal(item);
  });

  client.addEventListener("problem", (event) => {
    if (event.detail.code !== "offer_gone" || !shown || shown.answered) return;
    shown.answers.remove();
    shown.status.textContent = event.detail.message || "";
    shown.status.hidden = false;
    shown.answered = true;
  });

  client.addEventListener("psychologist_answer", (event) => {
    const frame = event.detail;
    if (shown && !shown.answered && shown.invitation === String(frame.invitation || "")) settle(Boolean(frame.accepted));
  });
}
