// The tchat page: draws what the TchatClient reports, sends what the visitor types.
import { TchatClient } from "./client.js";
import { renderCard, cardSummary } from "./cards.js";
import { pendingConsent, renderConsent } from "./consent.js";
import { wirePsychologistOffer } from "./psychologist.js";
import { currentTchat, remove, write } from "./session.js";
import { go, onQuickExit } from "./visitor.js";

const $ = (id) => document.getElementById(id);
const root = $("tchat");
const list = $("messages");
const connection = $("connexion");
const connectionText = $("connexion-texte");
const queue = $("attente");
const joined = $("arrivee");
const typingLine = $("ecrit");
const form = $("ecrire");
const input = $("message");
const inputError = $("message-erreur");
const leaveBox = $("terminer");
const closedBox = $("termine");
const announcer = $("annonces");
const alerter = $("alertes");
const maxChars = Number(root.dataset.maxChars) || 4000;

// A typing notice lasts 6 s: the server relays one every 2 s while someone types, so 6 s bridges two lost ones.
const TYPING_SHOWN_MS = 6000;
// Messages older than this when they arrive are history (a reload), not news: they are not read aloud.
const HISTORY_AGE_MS = 10000;
// Announcements kept in the live region; older ones are removed so the region never grows.
const ANNOUNCEMENTS_KEPT = 5;

const tchat = currentTchat();
let force = tchat ? tchat.force : null;
const pageOpened = Date.now();

const time = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });

function operatorName() {
  if (force === "gendarmerie") return "Gendarmerie";
  if (force === "police") return "Police";
  return "Police ou gendarmerie";
}

function authorLabel(author) {
  switch (author) {
    case "visitor":
      return "Vous";
    case "operator":
      return operatorName();
    case "psychologist":
      return "Psychologue";
    default:
      return "Information";
  }
}

function joinedText(who) {
  if (who === "psychologist") return "Un ou une psychologue a rejoint le tchat.";
  if (force === "gendarmerie") return "Un ou une gendarme a rejoint le tchat et vous répond.";
  if (force === "police") return "Un policier ou une policière a rejoint le tchat et vous répond.";
  return "Un policier ou un gendarme a rejoint le tchat et vous répond.";
}

function leftText(who) {
  if (who === "psychologist") return "Le ou la psychologue a quitté le tchat.";
  if (who === "visitor") return "Vous avez quitté le tchat.";
  return "La personne qui vous répondait a quitté le tchat.";
}

function announce(text, { urgent = false } = {}) {
  if (urgent) {
    alerter.textContent = "";
    // A fresh node on the next frame: screen readers announce an assertive change even if the text repeats.
    requestAnimationFrame(() => {
      alerter.textContent = text;
    });
    return;
  }
  const p = document.createElement("p");
  p.textContent = text;
  announcer.append(p);
  while (announcer.childNodes.length > ANNOUNCEMENTS_KEPT) announcer.firstChild.remove();
}

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
}

function reveal(node, force_ = false) {
  if (force_ || nearBottom()) node.scrollIntoView({ block: "end", behavior: "auto" });
}

// ---- messages ------------------------------------------------------------------------------------------------

const bySeq = new Map();
const byClientId = new Map();

function messageItem({ author, body, at, seq }) {
  const li = document.createElement("li");
  li.className = `pnav-message pnav-message--${author === "visitor" ? "own" : author}`;
  if (seq) li.dataset.seq = String(seq);
  const who = document.createElement("p");
  who.className = "pnav-message__author";
  const name = document.createElement("span");
  name.textContent = authorLabel(author);
  who.append(name);
  if (at) {
    const stamp = document.createElement("time");
    const date = new Date(at);
    if (!Number.isNaN(date.getTime())) {
      stamp.dateTime = date.toISOString();
      stamp.textContent = ` · ${time.format(date)}`;
      who.append(stamp);
    }
  }
  const text = document.createElement("p");
  text.className = "pnav-message__body";
  text.textContent = body;
  li.append(who, text);
  return li;
}

function setStatus(li, text, kind) {
  let status = li.querySelector(".pnav-message__status");
  if (!status) {
    status = document.createElement("p");
    status.className = "pnav-message__status";
    li.append(status);
  }
  status.textContent = text;
  status.dataset.kind = kind;
}

function insertBySeq(li, seq) {
  // Keep seq order even when an ack overtook an earlier message; messages still pending (no seq) stay last.
  let before = null;
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    const other = node.dataset.seq ? Number(node.dataset.seq) : null;
    if (other === null && node.classList.contains("pnav-message--own")) before = node;
    else if (other !== null && other > seq) before = node;
    else if (other !== null) break;
  }
  list.insertBefore(li, before);
}

function noticeItem(text, kind = "event") {
  const li = document.createElement("li");
  li.className = `pnav-notice pnav-notice--${kind}`;
  const p = document.createElement("p");
  p.textContent = text;
  li.append(p);
  list.append(li);
  reveal(li);
  return li;
}

function isHistory(at) {
  const date = new Date(at);
  return !Number.isNaN(date.getTime()) && date.getTime() < pageOpened - HISTORY_AGE_MS;
}

function onMessage({ frame, own }) {
  const seq = Number(frame.seq);
  if (own && byClientId.has(own)) {
    const li = byClientId.get(own);
    byClientId.delete(own);
    li.remove();
    insertBySeq(li, seq);
    li.dataset.seq = String(seq);
    li.querySelector(".pnav-message__body").textContent = frame.body;
    setStatus(li, "Envoyé", "sent");
    bySeq.set(seq, li);
    return;
  }
  const li = messageItem({ author: frame.author, body: String(frame.body || ""), at: frame.at, seq });
  if (frame.author === "visitor") setStatus(li, "Envoyé", "sent");
  bySeq.set(seq, li);
  insertBySeq(li, seq);
  if (frame.author !== "visitor") {
    hideTyping();
    if (!isHistory(frame.at)) {
      announce(`${authorLabel(frame.author)} : ${frame.body}`);
      if (document.visibilityState === "visible") client.markRead();
    }
  }
  reveal(li, frame.author === "visitor");
}

function onCard({ frame }) {
  const seq = Number(frame.seq);
  const li = document.createElement("li");
  li.className = "pnav-message pnav-message--card";
  li.dataset.seq = String(seq);
  li.append(renderCard(frame));
  bySeq.set(seq, li);
  insertBySeq(li, seq);
  rememberFollowup(frame);
  if (!isHistory(frame.at)) announce(`Nouvelle fiche : ${cardSummary(frame)}`);
  reveal(li);
}

function onPending({ entry, online }) {
  const li = messageItem({ author: "visitor", body: entry.body, at: entry.at });
  setStatus(li, online ? "Envoi…" : "En attente du réseau : il partira tout seul", online ? "sending" : "waiting");
  byClientId.set(entry.client_id, li);
  list.append(li);
  reveal(li, true);
}

function onAcked({ client_id: clientId, seq }) {
  const li = byClientId.get(clientId);
  if (!li) return;
  // Stays under its client id until its message frame arrives (with the text as the server stored it).
  li.remove();
  insertBySeq(li, seq);
  li.dataset.seq = String(seq);
  setStatus(li, "Envoyé", "sent");
  bySeq.set(seq, li);
}

function onSuperseded({ client_id: clientId }) {
  const li = byClientId.get(clientId);
  if (li) li.remove();
  byClientId.delete(clientId);
}

function onFailed({ client_id: clientId, message }) {
  const li = byClientId.get(clientId);
  if (li) setStatus(li, message || "Non envoyé.", "failed");
  byClientId.delete(clientId);
}

function onDelayed({ client_id: clientId, message }) {
  const li = byClientId.get(clientId);
  if (li) setStatus(li, message || "Envoi retardé, nouvel essai dans un instant.", "waiting");
}

// ---- queue, presence, typing ----------------------------------------------------------------------------------

const queueSamples = []; // [time, position] while waiting, to estimate honestly from what we observe

function ordinal(n) {
  return n === 1 ? "1re" : `${n}e`;
}

function minutes(ms) {
  const m = Math.max(1, Math.round(ms / 60000));
  return m === 1 ? "1 minute" : `${m} minutes`;
}

function drawQueue(position) {
  queue.hidden = false;
  const where = $("attente-position");
  const estimate = $("attente-estimation");
  if (!position) {
    where.textContent = "Votre demande est bien arrivée. Une personne va vous répondre.";
  } else if (position === 1) {
    where.textContent = "Vous êtes la prochaine personne à qui l'on va répondre.";
  } else {
    where.textContent = `Vous êtes ${ordinal(position)} dans la file : ${position - 1} personne${position > 2 ? "s" : ""} avant vous.`;
  }
  // Honest estimate: only from the pace we have seen the queue move since this page opened; none before that.
  const first = queueSamples[0];
  const last = queueSamples[queueSamples.length - 1];
  const moved = first && last ? first[1] - last[1] : 0;
  if (position && moved > 0) {
    const perPlace = (last[0] - first[0]) / moved;
    estimate.textContent = `Au rythme observé depuis votre arrivée, l'attente serait d'environ ${minutes(perPlace * position)}. C'est une estimation : elle peut changer.`;
  } else {
    estimate.textContent = "Nous ne pouvons pas encore estimer l'attente : elle dépend du nombre de personnes qui écrivent en ce moment. Elle s'affichera dès que la file avancera.";
  }
}

function sampleQueue(position) {
  const previous = queueSamples.length ? queueSamples[queueSamples.length - 1][1] : null;
  if (position) {
    if (previous !== null && position > previous) queueSamples.length = 0; // an emergency went first: restart
    queueSamples.push([Date.now(), position]);
  }
  return previous;
}

function onQueue(position) {
  const previous = sampleQueue(position);
  drawQueue(position);
  if (previous !== null && position && position !== previous) {
    announce(position === 1 ? "Vous êtes maintenant la prochaine personne." : `Vous êtes maintenant ${ordinal(position)} dans la file.`);
  }
}

function showJoined(who, { live, message = "" }) {
  queue.hidden = true;
  joined.hidden = false;
  joined.dataset.who = who;
  // The server may name the person who joined in its own words (the configured title of the psychologist).
  const text = message || joinedText(who);
  $("arrivee-texte").textContent = who === "psychologist" ? text : live
    ? text
    : `Vous êtes en conversation avec la ${force === "gendarmerie" ? "gendarmerie" : force === "police" ? "police" : "police ou la gendarmerie"}.`;
  if (live) {
    noticeItem(text, "joined");
    announce(text, { urgent: true });
    joined.classList.add("pnav-joined--new");
  }
}

let typingTimer = null;

function showTyping(who) {
  typingLine.textContent = `${authorLabel(who)} écrit…`;
  typingLine.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping() {
  clearTimeout(typingTimer);
  typingLine.hidden = true;
}

// ---- connection state -----------------------------------------------------------------------------------------

let countdown = null;
let wasOpen = false;

function drawConnection({ state, retryAt }) {
  clearInterval(countdown);
  connection.dataset.state = state;
  connection.hidden = false;
  switch (state) {
    case "connecting":
      connectionText.textContent = wasOpen ? "Reconnexion…" : "Connexion en cours…";
      break;
    case "open":
      connectionText.textContent = "Connecté";
      if (wasOpen === "lost") announce("Connexion rétablie.");
      wasOpen = true;
      break;
    case "waiting": {
      const tick = () => {
        const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        connectionText.textContent = `Connexion perdue. Nouvel essai dans ${s} s. Vos messages seront envoyés au retour de la connexion.`;
      };
      tick();
      countdown = setInterval(tick, 1000);
      if (wasOpen === true) announce("Connexion perdue. Vos messages seront envoyés dès son retour.");
      if (wasOpen) wasOpen = "lost";
      break;
    }
    case "offline":
      connectionText.textContent = "Pas de réseau. Vos messages seront envoyés dès son retour.";
      if (wasOpen === true) announce("Connexion perdue. Vos messages seront envoyés dès son retour.");
      if (wasOpen) wasOpen = "lost";
      break;
    case "ended":
    case "invalid":
      connection.hidden = true;
      break;
    default:
      break;
  }
}

// ---- end of tchat ---------------------------------------------------------------------------------------------

function endUrl() {
  return tchat && tchat.category ? `/fin?tchat=${encodeURIComponent(tchat.category)}` : "/fin";
}

function rememberFollowup(frame) {
  const code = frame.followup_code || (frame.kind === "followup" || frame.type === "followup" ? frame.code : null);
  if (typeof code === "string" && code) write("followup", code);
}

function showClosed() {
  hideTyping();
  form.hidden = true;
  leaveBox.hidden = true;
  queue.hidden = true;
  closedBox.hidden = false;
  $("termine-lien").href = endUrl();
  announce("Le tchat est terminé.", { urgent: true });
}

function showMissing(message) {
  remove("tchat");
  remove("outbox");
  $("tchat-absent").hidden = false;
  if (message) $("absent-texte").textContent = message;
  form.hidden = true;
  leaveBox.hidden = true;
  queue.hidden = true;
  connection.hidden = true;
}

// ---- wiring ---------------------------------------------------------------------------------------------------

let client = null;

function main() {
  client = new TchatClient(tchat.token);
  client.addEventListener("state", (e) => drawConnection(e.detail));
  client.addEventListener("welcome", (e) => {
    const frame = e.detail;
    if (frame.force) force = frame.force;
    if (frame.status === "queued") {
      sampleQueue(frame.position);
      drawQueue(frame.position);
    }
    else if (frame.status === "active" && joined.hidden) showJoined("operator", { live: false });
  });
  client.addEventListener("message", (e) => onMessage(e.detail));
  client.addEventListener("card", (e) => onCard(e.detail));
  client.addEventListener("pending", (e) => onPending(e.detail));
  client.addEventListener("acked", (e) => onAcked(e.detail));
  client.addEventListener("superseded", (e) => onSuperseded(e.detail));
  client.addEventListener("failed", (e) => onFailed(e.detail));
  client.addEventListener("delayed", (e) => onDelayed(e.detail));
  client.addEventListener("queue", (e) => onQueue(e.detail.position));
  client.addEventListener("joined", (e) => showJoined(e.detail.who, { live: true, message: e.detail.message || "" }));
  client.addEventListener("left", (e) => {
    if (e.detail.who !== "visitor") noticeItem(leftText(e.detail.who), "left");
  });
  client.addEventListener("typing", (e) => showTyping(e.detail.who));
  let consentShown = null;
  const showConsent = (frame, { live }) => {
    if (consentShown && consentShown.dataset.proposal === String(frame.proposal || "")) return;
    if (consentShown) consentShown.closest("li").remove(); // a newer proposal replaces an unanswered one
    const li = document.createElement("li");
    li.className = "pnav-message pnav-message--card";
    li.id = "consentement";
    consentShown = renderConsent(frame, tchat.token, (text) => announce(text, { urgent: true }));
    li.append(consentShown);
    list.append(li);
    if (live) announce(`Nouvelle proposition : ${cardSummary(frame)}. Lisez-la avant de répondre.`, { urgent: true });
    reveal(li, true);
  };
  client.addEventListener("consent_request", (e) => showConsent(e.detail, { live: true }));
  let askedPending = false;
  client.addEventListener("welcome", async (e) => {
    if (askedPending || e.detail.status !== "active") return;
    askedPending = true; // once per page: a reload shows the form that still waits for an answer
    const frame = await pendingConsent(tchat.token);
    if (frame) showConsent(frame, { live: false });
  });
  client.addEventListener("frame", (e) => {
    const frame = e.detail;
    if (frame.type === "consent_result" && consentShown && consentShown.querySelector("form")) {
      // Answered elsewhere (another tab of the same tchat): the form here must not be sent twice.
      consentShown.querySelector("form").remove();
      consentShown.append(Object.assign(document.createElement("p"), {
        className: "pnav-card__text",
        textContent: frame.accepted ? "Votre signalement a été transmis." : "Rien n'a été transmis.",
      }));
    }
    if (frame.type === "followup") {
      rememberFollowup(frame);
      if (frame.code || frame.followup_code) {
        const li = document.createElement("li");
        li.className = "pnav-message pnav-message--card";
        li.append(renderCard({ ...frame, kind: "followup" }));
        list.append(li);
        announce("Votre code de suivi est affiché.", { urgent: true });
        reveal(li, true);
      }
    } else if (frame.type === "transferred") {
      if (frame.force) force = frame.force;
      joined.hidden = true; // back in a queue, of the other force: its position follows
      queue.hidden = false;
      noticeItem("Votre tchat a été transmis à une autre équipe, qui va vous répondre.", "event");
    }
  });
  client.addEventListener("closed", () => showClosed());
  client.addEventListener("problem", (e) => {
    inputError.textContent = e.detail.message || "";
  });
  client.addEventListener("invalid", (e) => showMissing(e.detail.message));

  // Messages waiting in the outbox from before a reload are drawn as pending; they go out after the welcome.
  for (const entry of client.pending()) onPending({ entry, online: false });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) {
      inputError.textContent = "Écrivez quelques mots avant d'envoyer.";
      input.focus();
      return;
    }
    if (text.length > maxChars) {
      inputError.textContent = `Ce message est trop long (${maxChars} caractères au plus). Découpez-le en plusieurs messages.`;
      input.focus();
      return;
    }
    inputError.textContent = "";
    if (client.send(text)) input.value = "";
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (inputError.textContent) inputError.textContent = "";
    if (input.value.trim()) client.typing();
  });

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") client.markRead();
  });

  const confirmBox = $("terminer-confirmation");
  $("terminer-bouton").addEventListener("click", () => {
    confirmBox.hidden = false;
    $("terminer-non").focus();
  });
  $("terminer-non").addEventListener("click", () => {
    confirmBox.hidden = true;
    $("terminer-bouton").focus();
  });
  $("terminer-oui").addEventListener("click", () => {
    if (!client.leave() && navigator.sendBeacon) {
      navigator.sendBeacon("/api/v1/conversations/leave", JSON.stringify({ token: tchat.token }));
    }
    const url = endUrl();
    remove("tchat");
    remove("outbox");
    remove("highest_seq");
    // Give the leave frame a moment to go out before the page (and its socket) is replaced.
    setTimeout(() => go(url), 150);
  });

  wirePsychologistOffer(client, { list, announce: (text) => announce(text, { urgent: true }), reveal: (node) => reveal(node, true) });

  // The quick exit tells the server over the socket too when it is open (the beacon covers the other case).
  onQuickExit(() => client.leave());

  client.start();
}

if (tchat) main();
else showMissing(null);
