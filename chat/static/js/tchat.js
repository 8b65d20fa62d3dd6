// The tchat page: draws what the TchatClient reports, sends what the visitor types.
//
// Everything in the transcript comes from frames with a seq (messages, cards and the stored events: joined, left,
// transferred, consent_request, consent_result), drawn in seq order whether they arrive live or replayed: the page
// after a reload is the page before it. What only this tab knows (the follow-up code, the last "read" seen) lives in
// sessionStorage.
import { _, LOCALE } from "./i18n.js";
import { Uploader, fileLine, receipt, showMatch } from "./attachments.js";
import { TchatClient, normalise } from "./client.js";
import { renderCard, cardSummary } from "./cards.js";
import { addDocument, renderConsent, showAnswer } from "./consent.js";
import { wirePsychologistOffer } from "./psychologist.js";
import { currentTchat, read, remove, write } from "./session.js";
import { T } from "./strings.js";
import { length, splitMessage } from "./text.js";
import { go, onQuickExit } from "./visitor.js";

const $ = (id) => document.getElementById(id);
const root = $("tchat");
const pane = $("fil");
const list = $("messages");
const connection = $("connexion");
const connectionText = $("connexion-texte");
const queue = $("attente");
const joined = $("arrivee");
const typingLine = $("ecrit");
const form = $("ecrire");
const input = $("message");
const counter = $("message-compteur");
const inputError = $("message-erreur");
const marker = $("nouveau");
const leaveBox = $("terminer");
const closedBox = $("termine");
const announcer = $("annonces");
const alerter = $("alertes");
const maxChars = Number(root.dataset.maxChars) || 4000;
// A pasted text longer than this many messages is sent in part; the rest stays in the box (never lost).
const maxParts = Number(root.dataset.maxParts) || 5;

// A typing notice lasts 6 s: the server relays one every 2 s while someone types, so 6 s bridges two lost ones.
const TYPING_SHOWN_MS = 6000;
// Messages older than this when they arrive are history (a reload), not news: they are not read aloud.
const HISTORY_AGE_MS = 10000;
// Announcements kept in the live region; older ones are removed so the region never grows.
const ANNOUNCEMENTS_KEPT = 5;
// The counter appears from 80% of the limit: early enough to see it coming, quiet for ordinary messages.
const COUNTER_FROM = 0.8;
// Within this distance of the end the person is "at the bottom": new content scrolls into view by itself.
const FOLLOW_SLACK_PX = 48;

const tchat = currentTchat();
let force = tchat ? tchat.force : null;
const pageOpened = Date.now();

const time = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" });

function operatorName() {
  if (force === "gendarmerie") return T.gendarmerie;
  if (force === "police") return T.police;
  return T.policeOrGendarmerie;
}

function authorLabel(author) {
  switch (author) {
    case "visitor":
      return T.you;
    case "operator":
      return operatorName();
    case "psychologist":
      return T.psychologist;
    default:
      return T.information;
  }
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

function isHistory(at) {
  const date = new Date(at);
  return !Number.isNaN(date.getTime()) && date.getTime() < pageOpened - HISTORY_AGE_MS;
}

// ---- following the conversation -------------------------------------------------------------------------------

let following = true; // the person is at the bottom: new content scrolls into view by itself
let unseen = []; // items that arrived out of sight, oldest first

function atBottom() {
  return pane.scrollHeight - pane.scrollTop - pane.clientHeight <= FOLLOW_SLACK_PX;
}

function toBottom() {
  pane.scrollTop = pane.scrollHeight;
}

function drawMarker() {
  unseen = unseen.filter((node) => node.isConnected);
  marker.hidden = unseen.length === 0;
  $("nouveau-texte").textContent = T.newMessages(unseen.length);
}

// Show a new item: follow it when the person was at the bottom (or wrote it), otherwise say it is there. History
// (what a reload replays) only keeps a following person at the bottom.
function arrived(node, { force: forced = false, live = true } = {}) {
  // The person may have scrolled away an instant ago (its scroll event comes with the next frame): when the end is
  // further than this new item explains, they are no longer following.
  const distance = pane.scrollHeight - pane.scrollTop - pane.clientHeight;
  if (following && distance > node.offsetHeight + FOLLOW_SLACK_PX) following = false;
  if (following || forced) {
    if (live && node.offsetHeight > pane.clientHeight) {
      node.scrollIntoView({ block: "start" }); // a card taller than the screen: its beginning, not its end
      following = atBottom();
    } else {
      toBottom();
      following = true;
    }
    return;
  }
  if (!live) return;
  unseen.push(node);
  drawMarker();
}

pane.addEventListener("scroll", () => {
  following = atBottom();
  if (following) unseen = [];
  else unseen = unseen.filter((node) => node.getBoundingClientRect().top > pane.getBoundingClientRect().bottom);
  drawMarker();
});

marker.addEventListener("click", () => {
  const first = unseen.find((node) => node.isConnected);
  if (first) first.scrollIntoView({ block: "start" });
  else toBottom();
  unseen = [];
  drawMarker();
  following = atBottom();
});

// Content that grows or appears (a card's links wrapping, the typing line, the banner, the composer's counter)
// keeps a following person at the bottom.
const keepFollowing = new ResizeObserver(() => {
  if (following) toBottom();
});
keepFollowing.observe(pane);
for (const child of pane.children) keepFollowing.observe(child);

// ---- messages ------------------------------------------------------------------------------------------------

const bySeq = new Map();
const byClientId = new Map();
let readSeq = Number(read("read_seq", 0)) || 0;

function stamp(at) {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return null;
  const node = document.createElement("time");
  node.dateTime = date.toISOString();
  node.textContent = ` · ${time.format(date)}`;
  return node;
}

function messageItem({ author, body, at, seq }) {
  const li = document.createElement("li");
  li.className = `pnav-message pnav-message--${author === "visitor" ? "own" : author}`;
  if (seq) li.dataset.seq = String(seq);
  const who = document.createElement("p");
  who.className = "pnav-message__author";
  const name = document.createElement("span");
  name.textContent = authorLabel(author);
  who.append(name);
  const when = at ? stamp(at) : null;
  if (when) who.append(when);
  const text = document.createElement("p");
  text.className = "pnav-message__body";
  text.dir = "auto"; // Arabic or Hebrew reads right to left, inside a French page
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

// An own message the server stored: "Lu" once a staff member has read up to it, "Envoyé" until then.
function setDelivered(li, seq) {
  if (seq <= readSeq) setStatus(li, T.read, "read");
  else setStatus(li, T.sent, "sent");
}

function onRead(frame) {
  if (frame.who === "visitor") return;
  const seq = Number(frame.seq);
  if (!Number.isInteger(seq) || seq <= readSeq) return;
  readSeq = seq;
  write("read_seq", readSeq); // after a reload the same messages still say "Lu"
  for (const li of list.querySelectorAll(".pnav-message--own[data-seq]")) {
    if (Number(li.dataset.seq) <= readSeq) setStatus(li, T.read, "read");
  }
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

function noticeItem(text, kind, seq) {
  const li = document.createElement("li");
  li.className = `pnav-notice pnav-notice--${kind}`;
  li.dataset.seq = String(seq);
  const p = document.createElement("p");
  p.textContent = text;
  li.append(p);
  insertBySeq(li, seq);
  return li;
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
    const when = stamp(frame.at); // the server's time, as a reload would show it
    if (when) li.querySelector(".pnav-message__author time")?.replaceWith(when);
    setDelivered(li, seq);
    bySeq.set(seq, li);
    return;
  }
  const li = messageItem({ author: frame.author, body: String(frame.body || ""), at: frame.at, seq });
  if (frame.author === "visitor") setDelivered(li, seq);
  bySeq.set(seq, li);
  insertBySeq(li, seq);
  if (frame.author !== "visitor") {
    hideTyping();
    if (!isHistory(frame.at)) {
      announce(`${authorLabel(frame.author)} : ${frame.body}`);
      if (document.visibilityState === "visible") client.markRead();
    }
  }
  arrived(li, { force: frame.author === "visitor", live: !isHistory(frame.at) });
}

function onCard({ frame }) {
  const seq = Number(frame.seq);
  const li = document.createElement("li");
  li.className = "pnav-message pnav-message--card";
  li.dataset.seq = String(seq);
  li.append(renderCard(frame));
  bySeq.set(seq, li);
  insertBySeq(li, seq);
  if (!isHistory(frame.at)) announce(T.newCard(cardSummary(frame)));
  arrived(li, { live: !isHistory(frame.at) });
}

function onPending({ entry, online }) {
  const li = messageItem({ author: "visitor", body: entry.body, at: entry.at });
  setStatus(li, online ? T.sending : T.waitingNetwork, online ? "sending" : "waiting");
  byClientId.set(entry.client_id, li);
  list.append(li);
  arrived(li, { force: true });
}

function onAcked({ client_id: clientId, seq }) {
  const li = byClientId.get(clientId);
  if (!li) return;
  // Stays under its client id until its message frame arrives (with the text as the server stored it).
  li.remove();
  insertBySeq(li, seq);
  li.dataset.seq = String(seq);
  setDelivered(li, seq);
  bySeq.set(seq, li);
}

function onSuperseded({ client_id: clientId }) {
  const li = byClientId.get(clientId);
  if (li) li.remove();
  byClientId.delete(clientId);
}

function onFailed({ client_id: clientId, message }) {
  const li = byClientId.get(clientId);
  if (li) setStatus(li, message || T.notSent, "failed");
  byClientId.delete(clientId);
}

function onDelayed({ client_id: clientId, message }) {
  const li = byClientId.get(clientId);
  if (li) setStatus(li, message || T.delayed, "waiting");
}

// ---- attachments: files sent with a receipt -------------------------------------------------------------------

const attachInput = $("fichier");
const notice = $("avant-envoi");
const keepName = $("garder-intitule");
const dropHint = $("depot");
const maxBytes = Number(root.dataset.maxBytes) || 10 * 1024 * 1024;
const byAttachment = new Map(); // attachment id -> its item in the transcript
const uploading = new Map(); // client_id -> { li, entry } while on its way
let uploader = null;
let held = []; // files dropped before the notice was read: sent once it is
let informed = Boolean(read("attach_informed", false));

function attachmentItem(frame, local) {
  const li = document.createElement("li");
  li.className = "pnav-message pnav-message--own pnav-attachment";
  li.dataset.seq = String(frame.seq);
  li.dataset.attachment = String(frame.id);
  const who = document.createElement("p");
  who.className = "pnav-message__author";
  const name = document.createElement("span");
  name.textContent = authorLabel(frame.author);
  who.append(name);
  const when = stamp(frame.at);
  if (when) who.append(when);
  li.append(who, fileLine(frame.name, frame.media_type, frame.size), receipt(frame, local));
  return li;
}

// An attachment frame (live or replayed): its receipt replaces the pending line of this tab's upload, if any.
function onAttachment(frame) {
  if (byAttachment.has(frame.id)) return;
  const seq = Number(frame.seq);
  let local = null;
  for (const [clientId, pending] of uploading) {
    if (pending.li.dataset.attachment === String(frame.id)) {
      local = pending.entry.local;
      pending.li.remove();
      uploading.delete(clientId);
    }
  }
  const li = attachmentItem(frame, local);
  byAttachment.set(frame.id, li);
  if (consentShown && !consentShown.dataset.answer) addDocument(consentShown, frame); // sent after the proposal
  bySeq.set(seq, li);
  insertBySeq(li, seq);
  const live = !isHistory(frame.at);
  if (live) announce(T.fileReceived(frame.name));
  arrived(li, { force: live, live });
}

function pendingItem(entry) {
  const li = document.createElement("li");
  li.className = "pnav-message pnav-message--own pnav-attachment";
  const who = document.createElement("p");
  who.className = "pnav-message__author";
  who.textContent = T.you;
  li.append(who, fileLine(entry.file.name || "fichier", entry.file.type, entry.file.size));
  return li;
}

function setUploadStatus(clientId, text, kind) {
  const pending = uploading.get(clientId);
  if (!pending) return;
  setStatus(pending.li, text, kind);
  pending.li.querySelector(".pnav-attachment__actions")?.remove();
  if (kind !== "failed") return;
  const actions = document.createElement("p");
  actions.className = "pnav-attachment__actions";
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "fr-btn fr-btn--sm fr-btn--tertiary";
  dismiss.textContent = T.removeFile;
  dismiss.addEventListener("click", () => {
    pending.li.remove();
    uploading.delete(clientId);
    input.focus();
  });
  actions.append(dismiss);
  pending.li.append(actions);
}

function wireUploader() {
  uploader = new Uploader({ url: "/api/v1/attachments", token: tchat.token, maxBytes });
  uploader.addEventListener("pending", (e) => {
    const entry = e.detail;
    const li = pendingItem(entry);
    uploading.set(entry.client_id, { li, entry });
    list.append(li);
    setUploadStatus(entry.client_id, T.uploading(null), "sending");
    arrived(li, { force: true });
  });
  uploader.addEventListener("progress", (e) => setUploadStatus(e.detail.entry.client_id,
    T.uploading(e.detail.percent), "sending"));
  uploader.addEventListener("waiting", (e) => setUploadStatus(e.detail.entry.client_id, e.detail.message, "waiting"));
  uploader.addEventListener("failed", (e) => {
    setUploadStatus(e.detail.entry.client_id, e.detail.message, "failed");
    announce(e.detail.message, { urgent: true });
  });
  uploader.addEventListener("digest", (e) => {
    const entry = e.detail;
    const pending = uploading.get(entry.client_id);
    const drawn = pending && byAttachment.get(pending.li.dataset.attachment);
    if (drawn) showMatch(drawn, drawn.querySelector(".pnav-receipt__hash").textContent, entry.local);
  });
  uploader.addEventListener("done", (e) => {
    const { entry, receipt: answer } = e.detail;
    const pending = uploading.get(entry.client_id);
    if (!pending) return;
    const drawn = byAttachment.get(answer.id);
    if (drawn) {
      // Its frame overtook the answer: the receipt is drawn already; it learns the local digest, the line goes.
      showMatch(drawn, answer.sha256, entry.local);
      pending.li.remove();
      uploading.delete(entry.client_id);
      return;
    }
    pending.li.dataset.attachment = String(answer.id);
    setUploadStatus(entry.client_id, T.sent, "sent");
  });
}

function sendFiles(files) {
  if (!files.length || form.hidden) return;
  if (!uploader) wireUploader();
  for (const file of files) uploader.add(file, keepName.checked);
}

function showNotice() {
  notice.hidden = false;
  notice.focus();
}

// The first time, the notice comes first; afterwards the picker opens at once.
function startAttach() {
  if (!informed) {
    showNotice();
    return;
  }
  attachInput.click();
}

function wireAttachments() {
  $("joindre").addEventListener("click", startAttach);
  list.addEventListener("click", (event) => {
    if (event.target.closest(".pnav-card__attach")) startAttach();
  });
  $("avant-envoi-ok").addEventListener("click", () => {
    informed = true;
    write("attach_informed", true);
    notice.hidden = true;
    if (held.length) {
      sendFiles(held);
      held = [];
      input.focus();
    } else {
      attachInput.click();
    }
  });
  $("avant-envoi-non").addEventListener("click", () => {
    held = [];
    notice.hidden = true;
    $("joindre").focus();
  });
  attachInput.addEventListener("change", () => {
    const files = [...attachInput.files];
    attachInput.value = ""; // nothing of the choice stays in the page once sent
    sendFiles(files);
  });
  // Drag and drop onto the tchat: the same path as the button.
  let depth = 0;
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  root.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || form.hidden) return;
    depth += 1;
    dropHint.hidden = false;
  });
  root.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dropHint.hidden = true;
  });
  root.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault();
  });
  root.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropHint.hidden = true;
    const files = [...event.dataTransfer.files];
    if (informed) sendFiles(files);
    else {
      held = files;
      showNotice();
    }
  });
}

// ---- events of the tchat (stored with a seq, replayed after a reload) ----------------------------------------

function setForce(value) {
  if (value !== "police" && value !== "gendarmerie") return;
  force = value;
  if (tchat && tchat.force !== value) write("tchat", { ...tchat, force: value });
}

function showInConversation() {
  queue.hidden = true;
  joined.hidden = false;
  $("arrivee-texte").textContent = T.inConversationWith(force);
}

function onJoined(frame) {
  setForce(frame.force);
  const text = frame.who === "psychologist" ? frame.message || T.psychologistJoined : T.operatorJoined(force);
  showInConversation();
  if (frame.seq === undefined) return;
  const li = noticeItem(text, "joined", Number(frame.seq));
  if (!isHistory(frame.at)) {
    announce(text, { urgent: true });
    joined.classList.add("pnav-joined--new");
  }
  arrived(li, { live: !isHistory(frame.at) });
}

function leftText(frame) {
  if (frame.who === "visitor" || frame.reason === "transferred") return null; // the system message says it
  if (frame.who === "psychologist") return frame.message || T.psychologistLeft;
  if (frame.reason === "closed") return T.conversationOver;
  return T.operatorLeft;
}

function onLeft(frame) {
  const text = leftText(frame);
  if (!text || frame.seq === undefined) return;
  arrived(noticeItem(text, "left", Number(frame.seq)), { live: !isHistory(frame.at) });
}

function onTransferred(frame) {
  setForce(frame.force);
  joined.hidden = true; // back in a queue, of the other force: its position follows
  drawQueue(null);
}

// ---- the signalement: the consent form and its answer ---------------------------------------------------------

const consentCards = new Map(); // proposal id -> its card
let consentShown = null; // the newest proposal's card

function codes() {
  const stored = read("codes", []);
  return Array.isArray(stored) ? stored : [];
}

function codeOf(proposal) {
  const found = codes().find((entry) => entry.proposal === proposal);
  return found ? found.code : null;
}

function rememberCode(proposal, code) {
  write("codes", [...codes().filter((entry) => entry.proposal !== proposal), { proposal, code }]);
}

function onConsentRequest(frame) {
  const proposal = String(frame.proposal || "");
  if (consentCards.has(proposal)) return;
  if (consentShown && !consentShown.dataset.answer) consentShown.closest("li").remove(); // replaced, unanswered
  const li = document.createElement("li");
  li.className = "pnav-message pnav-message--card";
  if (frame.seq !== undefined) li.dataset.seq = String(frame.seq);
  const card = renderConsent(frame, tchat.token, {
    announce: (text) => announce(text, { urgent: true }),
    answered: (answer) => {
      if (answer.code) rememberCode(proposal, answer.code);
      showAnswer(card, { ...answer, code: answer.code || codeOf(proposal) });
    },
  });
  consentCards.set(proposal, card);
  consentShown = card;
  li.append(card);
  $("consentement")?.removeAttribute("id"); // the newest proposal's card is #consentement
  li.id = "consentement";
  if (frame.seq !== undefined) insertBySeq(li, Number(frame.seq));
  else list.append(li);
  const live = !isHistory(frame.at);
  if (live) announce(T.newProposal(cardSummary(frame)), { urgent: true });
  arrived(li, { force: live, live });
}

function onConsentResult(frame) {
  const card = consentCards.get(String(frame.proposal || "")) || consentShown;
  if (!card) return;
  const proposal = card.dataset.proposal;
  showAnswer(card, { accepted: Boolean(frame.accepted), service: frame.service || "",
    code: frame.accepted ? codeOf(proposal) : null });
}

// ---- queue, typing --------------------------------------------------------------------------------------------

const queueSamples = []; // [time, position] while waiting, to estimate honestly from what we observe

function minutes(ms) {
  return Math.max(1, Math.round(ms / 60000));
}

function drawQueue(position) {
  queue.hidden = false;
  const where = $("attente-position");
  const estimate = $("attente-estimation");
  if (!position) {
    where.textContent = _("Votre demande est bien arrivée. Une personne va vous répondre.");
  } else if (position === 1) {
    where.textContent = _("Vous êtes la prochaine personne à qui l'on va répondre.");
  } else {
    where.textContent = position === 2 ? _("Vous êtes 2e dans la file : 1 personne avant vous.")
      : _("Vous êtes {rank}e dans la file : {before} personnes avant vous.", { rank: position, before: position - 1 });
  }
  // Honest estimate: only from the pace we have seen the queue move since this page opened; none before that.
  const first = queueSamples[0];
  const last = queueSamples[queueSamples.length - 1];
  const moved = first && last ? first[1] - last[1] : 0;
  if (position && moved > 0) {
    const perPlace = (last[0] - first[0]) / moved;
    estimate.textContent = _("Au rythme observé depuis votre arrivée, l'attente serait d'environ {minutes} min. C'est "
      + "une estimation : elle peut changer.", { minutes: minutes(perPlace * position) });
  } else {
    estimate.textContent = _("Nous ne pouvons pas encore estimer l'attente : elle dépend du nombre de personnes qui "
      + "écrivent en ce moment. Elle s'affichera dès que la file avancera.");
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
    announce(position === 1 ? _("Vous êtes maintenant la prochaine personne.")
      : _("Vous êtes maintenant {rank}e dans la file.", { rank: position }));
  }
}

let typingTimer = null;

function showTyping(who) {
  typingLine.textContent = _("{who} écrit…", { who: authorLabel(who) });
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
      connectionText.textContent = wasOpen ? _("Reconnexion…") : _("Connexion en cours…");
      break;
    case "open":
      connectionText.textContent = _("Connecté");
      if (wasOpen === "lost") announce(T.connectionBack);
      wasOpen = true;
      break;
    case "waiting": {
      const tick = () => {
        const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        connectionText.textContent = _("Connexion perdue. Nouvel essai dans {seconds} s. Vos messages seront envoyés au "
          + "retour de la connexion.", { seconds: s });
      };
      tick();
      countdown = setInterval(tick, 1000);
      if (wasOpen === true) announce(T.connectionLost);
      if (wasOpen) wasOpen = "lost";
      break;
    }
    case "offline":
      connectionText.textContent = _("Pas de réseau. Vos messages seront envoyés dès son retour.");
      if (wasOpen === true) announce(T.connectionLost);
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

// ---- flags and the end of the tchat ---------------------------------------------------------------------------

// What the end page needs to show the right numbers: the tchat, and whether it concerns a minor or an emergency.
function rememberEnd(flags) {
  const end = read("end", {}) || {};
  write("end", { ...end, category: tchat.category, ...flags });
}

function endUrl() {
  return tchat && tchat.category ? `/fin?tchat=${encodeURIComponent(tchat.category)}` : "/fin";
}

function showClosed() {
  hideTyping();
  form.hidden = true;
  leaveBox.hidden = true;
  queue.hidden = true;
  closedBox.hidden = false;
  $("termine-code").hidden = ![...consentCards.keys()].some((proposal) => codeOf(proposal));
  $("termine-lien").href = endUrl();
  announce(T.tchatOver, { urgent: true });
  arrived(closedBox, { force: true });
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

// ---- the composer ---------------------------------------------------------------------------------------------

let overLimit = false;

function drawCounter() {
  const n = length(normalise(input.value));
  const parts = Math.ceil(n / maxChars);
  if (n < maxChars * COUNTER_FROM) counter.textContent = "";
  else if (n <= maxChars) counter.textContent = T.count(n, maxChars);
  else if (parts <= maxParts) counter.textContent = T.willSplit(n, parts);
  else counter.textContent = T.tooLongForOnce(n, maxChars, maxParts);
  counter.dataset.over = n > maxChars ? "true" : "false";
  if (n > maxChars && !overLimit) announce(T.overLimitAnnounce);
  overLimit = n > maxChars;
}

function submitText() {
  const text = normalise(input.value);
  if (!text) {
    inputError.textContent = T.writeSomething;
    input.focus();
    return;
  }
  inputError.textContent = "";
  const { parts, rest } = splitMessage(text, maxChars, maxParts);
  for (const part of parts) {
    if (!client.send(part)) return; // the tchat ended meanwhile: the text stays in the box
  }
  input.value = rest;
  if (rest) inputError.textContent = T.restKept(parts.length, length(rest));
  drawCounter();
  input.focus();
}

// ---- wiring ---------------------------------------------------------------------------------------------------

let client = null;

function main() {
  client = new TchatClient(tchat.token);
  client.addEventListener("state", (e) => drawConnection(e.detail));
  client.addEventListener("welcome", (e) => {
    const frame = e.detail;
    setForce(frame.force);
    rememberEnd({ emergency: Boolean(frame.emergency), minor: Boolean(frame.minor) });
    if (frame.status === "queued") {
      sampleQueue(frame.position);
      drawQueue(frame.position);
    } else if (frame.status === "active") {
      showInConversation();
    }
  });
  client.addEventListener("message", (e) => onMessage(e.detail));
  client.addEventListener("card", (e) => onCard(e.detail));
  client.addEventListener("attachment", (e) => onAttachment(e.detail));
  client.addEventListener("pending", (e) => onPending(e.detail));
  client.addEventListener("acked", (e) => onAcked(e.detail));
  client.addEventListener("superseded", (e) => onSuperseded(e.detail));
  client.addEventListener("failed", (e) => onFailed(e.detail));
  client.addEventListener("delayed", (e) => onDelayed(e.detail));
  client.addEventListener("queue", (e) => onQueue(e.detail.position));
  client.addEventListener("joined", (e) => onJoined(e.detail));
  client.addEventListener("left", (e) => onLeft(e.detail));
  client.addEventListener("transferred", (e) => onTransferred(e.detail));
  client.addEventListener("consent_request", (e) => onConsentRequest(e.detail));
  client.addEventListener("consent_result", (e) => onConsentResult(e.detail));
  client.addEventListener("read", (e) => onRead(e.detail));
  client.addEventListener("flags", (e) => rememberEnd({ emergency: Boolean(e.detail.emergency),
    minor: Boolean(e.detail.minor) }));
  client.addEventListener("typing", (e) => showTyping(e.detail.who));
  client.addEventListener("closed", () => showClosed());
  client.addEventListener("problem", (e) => {
    inputError.textContent = e.detail.message || "";
  });
  client.addEventListener("invalid", (e) => showMissing(e.detail.message));

  // Messages waiting in the outbox from before a reload are drawn as pending; they go out after the welcome.
  for (const entry of client.pending()) onPending({ entry, online: false });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitText();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (inputError.textContent) inputError.textContent = "";
    drawCounter();
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
    // The end page may ask for her anonymous feedback (static/js/feedback.js): only the token is kept, for it.
    write("feedback", { token: tchat.token });
    remove("tchat");
    remove("outbox");
    remove("highest_seq");
    remove("read_seq");
    // Give the leave frame a moment to go out before the page (and its socket) is replaced.
    setTimeout(() => go(url), 150);
  });

  wireAttachments();

  wirePsychologistOffer(client, { list, announce: (text) => announce(text, { urgent: true }),
    reveal: (node) => arrived(node, { force: true }) });

  // The quick exit tells the server over the socket too when it is open (the beacon covers the other case).
  onQuickExit(() => client.leave());

  client.start();
}

if (tchat) main();
else showMissing(null);
