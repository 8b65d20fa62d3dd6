// Operator, psychologist and supervisor console: one WebSocket (/ws/operator), tchats in tabs.
// Frames are documented in operators/README.md. The DOM is built with textContent only: nothing a visitor
// types is ever parsed as HTML.
import { AUTHORS, CATEGORIES, FORCES, OUTCOMES, REQUESTERS, SHORT_CATEGORIES, SUBTYPE_CATEGORY, clock, LANGUAGES, languageNote, waited } from "./labels.js";

const root = document.getElementById("console");
const ROLE = root.dataset.role;
const FORCE = root.dataset.force;
const OTHER_FORCE = FORCE === "police" ? "gendarmerie" : "police";
// Reconnect after 1 s, doubling up to 15 s: fast after a blip, gentle on a server that is restarting.
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 15000;
// Typing signals at most every 3 s: the indicator on the other side lasts 5 s, so it never flickers.
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
// Waiting times in the queue are refreshed every 10 s: minutes are what matter.
const QUEUE_TICK_MS = 10000;
// A transcript scrolled to within 48 px of its end follows new lines; further up, the operator is reading back.
const FOLLOW_SLACK_PX = 48;
// A tab label quotes the visitor's first words, cut at 40 characters: enough to tell four tchats apart.
const FIRST_WORDS_CHARS = 40;

const chats = new Map(); // conversation id -> chat state
const queues = new Map(); // "force:category" -> queue_state frame (force "" for tchats sans localisation)
let socket = null;
let backoff = RECONNECT_MIN_MS;
let active = null;
let canned = [];
let spoken = new Set(["fr"]); // the languages this operator speaks (welcome frame)
let actions = new Set();
let pendingTake = null;
let psychologists = null; // { open, next, present }: operators see it before inviting
let waitingCount = 0;
const outbox = new Map(); // client_id -> send frame not yet acked (re-sent after a reconnect)
const myWhispers = new Set(); // client_ids of the whispers this tab wrote: shown as « Vous »
let team = { mode: "pick", status: "available", capacity: 0 }; // the force's routing mode, one's status and capacity
let offer = null; // the open offer shown to this operator: { frame, timer }
const baseTitle = document.title;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function notice(text) {
  const box = document.getElementById("notice");
  document.getElementById("notice-text").textContent = text;
  box.hidden = !text;
}

// Read at once by screen readers (consent answers, emergency alerts), whatever has the focus.
function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

function setConnection(text) {
  document.getElementById("connection").textContent = text;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/operator`);
  socket.addEventListener("open", () => {
    backoff = RECONNECT_MIN_MS;
    setConnection("Connecté·e");
  });
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (event.code === 4401 || event.code === 4403) {
      setConnection("Session terminée : reconnectez-vous.");
      location.assign("/login");
      return;
    }
    setConnection("Connexion perdue, nouvelle tentative…");
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
  });
}

const handlers = {
  welcome(frame) {
    spoken = new Set(["fr", ...((frame.account && frame.account.languages) || [])]);
    canned = frame.canned || [];
    actions = new Set(frame.actions || []);
    for (const chat of chats.values()) {
      applyActions(chat);
      send({ type: "resume", conversation: chat.id, after: chat.lastSeq });
      renderCanned(chat);
    }
    for (const pending of outbox.values()) send(pending);
    if (frame.psychologists) handlers.psychologists(frame.psychologists);
    if (frame.team) applyTeam(frame.team);
  },
  offer: showOffer,
  offer_gone(frame) {
    if (!offer || offer.frame.offer !== frame.offer) return;
    hideOffer();
    if (frame.reason === "lapsed") notice("La proposition a expiré : elle passe à un·e collègue.");
    else if (frame.reason === "withdrawn" || frame.reason === "gone") notice("Cette proposition n'est plus valable.");
  },
  status(frame) {
    applyTeam({ status: frame.status });
    if (frame.reason === "lapses") {
      const text = "Vous avez laissé passer trois propositions : votre statut est « Absent·e ». Choisissez « Disponible » pour en recevoir de nouveau.";
      notice(text);
      announce(text);
    }
  },
  routing_mode(frame) {
    applyTeam({ mode: frame.mode });
    announce(frame.mode === "offer" ? "Les tchats sont maintenant proposés à tour de rôle." : "Les tchats se prennent maintenant dans la file.");
  },
  psychologists(frame) {
    psychologists = { open: Boolean(frame.open), next: frame.next || "", present: Number(frame.present) || 0 };
    for (const chat of chats.values()) renderPsychologists(chat);
  },
  presence(frame) {
    const chat = chats.get(frame.conversation);
    if (chat && frame.who === "visitor") setPresence(chat, Boolean(frame.connected));
  },
  queue_state(frame) {
    alertNewWaiting(queues.get(queueKey(frame)), frame);
    queues.set(queueKey(frame), frame);
    renderQueues();
  },
  located: onLocated,
  taken(frame) {
    const chat = ensureChat(frame.conversation);
    Object.assign(chat.summary, frame);
    renderHead(chat);
    setStatus(chat, frame.status, frame.outcome);
    if (typeof frame.visitor_connected === "boolean") setPresence(chat, frame.visitor_connected);
    if (pendingTake === frame.conversation || active === null) select(chat.id);
    pendingTake = null;
    renderLive(liveItems);
  },
  released(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    if (frame.reason === "unwatched") {
      removeChat(chat); // a supervisor stopped following it
      return;
    }
    notice(frame.reason === "transferred" ? "La conversation a été transférée." : "Vous avez quitté la conversation.");
    removeChat(chat);
  },
  message: appendFrame,
  card: appendFrame,
  whisper: appendWhisper,
  help_sent(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    const state = chat.node.querySelector(".chat-help-state");
    const text = frame.present
      ? `Demande d'aide envoyée : ${frame.present} superviseur·e(s) connecté·e(s) l'ont reçue.`
      : "Demande d'aide envoyée, mais aucun·e superviseur·e n'est connecté·e : appelez votre encadrement.";
    if (state) state.textContent = text;
    systemLine(chat, text);
  },
  attachment: appendFrame,
  ack(frame) {
    outbox.delete(frame.client_id);
    const chat = chats.get(frame.conversation);
    const line = chat && chat.node.querySelector(`[data-client="${CSS.escape(frame.client_id)}"]`);
    if (line) line.remove();
  },
  typing(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat || frame.who === ROLE) return;
    const line = chat.node.querySelector(".chat-typing");
    line.textContent = `${AUTHORS[frame.who] || "Quelqu'un"} écrit…`;
    line.hidden = false;
    clearTimeout(chat.typingTimer);
    chat.typingTimer = setTimeout(() => { line.hidden = true; }, TYPING_SHOWN_MS);
  },
  joined(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    systemLine(chat, frame.message || `${AUTHORS[frame.who] || "Quelqu'un"} a rejoint la conversation`);
    if (frame.who === "psychologist") setPsyState(chat, "", "");
  },
  left(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    const who = frame.who === "visitor" ? "La personne" : AUTHORS[frame.who] || "Quelqu'un";
    systemLine(chat, frame.message || `${who} a quitté la conversation`);
  },
  closed(frame) {
    const chat = chats.get(frame.conversation);
    if (chat) setStatus(chat, frame.status, frame.outcome);
  },
  flags(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    Object.assign(chat.summary, { emergency: frame.emergency, minor: frame.minor });
    renderHead(chat);
  },
  invitation_sent(frame) {
    const chat = chats.get(frame.conversation);
    if (chat) {
      const who = frame.present ? `${frame.present} psychologue(s) connectée(s)` : "aucune psychologue connectée pour l'instant";
      systemLine(chat, `Invitation envoyée (${who}).`);
      setPsyState(chat, `La personne est d'accord : invitation envoyée (${who}).`, "sent");
    }
  },
  psychologist_offer(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    systemLine(chat, "Question posée à la personne : accepte-t-elle qu'une psychologue se joigne à la conversation ?");
    setPsyState(chat, "Question posée à la personne : en attente de sa réponse.", "asked");
  },
  psychologist_answer(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    if (frame.accepted) {
      systemLine(chat, "La personne est d'accord pour qu'une psychologue se joigne à la conversation.");
      return; // invitation_sent follows, with the number of psychologists who see it
    }
    const text = "La personne ne souhaite pas qu'une psychologue se joigne à la conversation.";
    systemLine(chat, text);
    setPsyState(chat, `${text} Vous pourrez lui reposer la question plus tard.`, "declined");
    announce(text);
  },
  invitation: renderInvitation,
  invitation_closed(frame) {
    document.querySelector(`[data-invitation="${CSS.escape(frame.invitation)}"]`)?.remove();
    document.getElementById("no-invitation").hidden = document.getElementById("invitation-list").children.length > 0;
  },
  supervision: renderSupervision,
  alert: renderAlert,
  consent_request(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    const service = frame.service && frame.service.name ? ` (${frame.service.name})` : "";
    systemLine(chat, `Proposition de signalement envoyée : la personne voit le formulaire de consentement${service}.`);
    setConsent(chat, "pending", "Signalement proposé : en attente de la réponse de la personne.");
  },
  consent_result(frame) {
    const chat = chats.get(frame.conversation);
    if (!chat) return;
    const text = frame.accepted
      ? `La personne a accepté : le signalement a été transmis${frame.service ? ` à ${frame.service}` : ""}.`
      : "La personne a refusé la transmission du signalement. La conversation continue de façon anonyme.";
    systemLine(chat, text, frame.accepted ? "chat-system chat-consent-line chat-consent-line--accepted"
      : "chat-system chat-consent-line chat-consent-line--refused");
    setConsent(chat, frame.accepted ? "accepted" : "refused", text);
    announce(text);
    if (active !== chat.id) notice(text);
  },
  resync() {
    for (const chat of chats.values()) send({ type: "resume", conversation: chat.id, after: chat.lastSeq });
  },
  error(frame) {
    const chat = frame.conversation && chats.get(frame.conversation);
    // Refusals of an invitation belong next to the button, where the next availability change replaces them.
    if (chat && PSYCHOLOGIST_ERRORS.has(frame.code)) setPsyState(chat, frame.message, "refused");
    else if (chat) systemLine(chat, frame.message, "chat-error");
    else notice(frame.message);
    if (frame.code === "already_taken") pendingTake = null;
  },
};

function handle(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
  else if (frame.message) {
    // Frames of other packages (signalement, consent…) that carry a French message: show it where it belongs.
    const chat = frame.conversation && chats.get(frame.conversation);
    if (chat) systemLine(chat, frame.message);
    else notice(frame.message);
  }
}

function applyActions(chat) {
  const live = chat.status === "" || chat.status === "active";
  for (const node of chat.node.querySelectorAll("[data-action]")) {
    node.hidden = !actions.has(node.dataset.action) || !live;
  }
}

// ---- queues -------------------------------------------------------------------------------------------------

function renderQueues() {
  const list = document.getElementById("queue-list");
  if (!list) return;
  list.replaceChildren();
  // How many queue snapshots arrived: a new person is news only in a queue whose first snapshot is in (tests wait
  // for it before a tchat starts, instead of racing the console's welcome).
  list.dataset.snapshots = String(queues.size);
  if (ROLE === "operator" && team.mode === "offer") {
    list.append(el("p", "queue-mode", "Distribution par proposition : les personnes qui attendent vous sont proposées à tour de rôle."));
  }
  for (const category of Object.keys(CATEGORIES)) {
    const items = queueItems(category);
    const total = queueTotal(category);
    const block = el("div", "queue");
    block.dataset.category = category;
    block.append(el("h3", "fr-h6", `${CATEGORIES[category]} (${total.toLocaleString("fr-FR")})`));
    if (!items.length) block.append(el("p", "queue-empty", "Personne n'attend."));
    const ul = el("ul", "queue-items");
    for (const item of items) {
      const li = el("li", "queue-item");
      li.dataset.conversation = item.id;
      const flags = [item.emergency ? "URGENCE" : "", item.minor ? "Mineur" : ""].filter(Boolean).join(" · ");
      if (flags) li.append(el("span", "queue-flag", flags));
      li.append(el("span", "queue-role", capitalised(REQUESTERS[item.role] || "")));
      if (languageNote(item.language)) li.append(el("span", "queue-language", languageNote(item.language)));
      li.append(el("span", `queue-wrote${item.wrote ? " queue-wrote--yes" : ""}`,
        item.wrote ? "a déjà écrit" : "n'a pas encore écrit"));
      li.append(el("span", "queue-wait", `Attend depuis ${waited(item.queued_at)}`));
      li.append(el("span", "queue-place", placeOf(item)));
      if (ROLE === "operator" && team.mode !== "offer") {
        const button = el("button", "fr-btn fr-btn--sm queue-take", "Prendre en charge");
        button.type = "button";
        button.addEventListener("click", () => {
          pendingTake = item.id;
          send({ type: "take", conversation: item.id });
        });
        li.append(button);
      }
      ul.append(li);
    }
    block.append(ul);
    // A long queue comes as its head (chat/queue_frames.py): the others are a count.
    const further = total - items.length;
    if (further > 0) {
      block.append(el("p", "queue-more", further === 1 ? "1 autre personne attend plus loin dans la file."
        : `${further.toLocaleString("fr-FR")} autres personnes attendent plus loin dans la file.`));
    }
    list.append(block);
  }
}

// ---- tabs and panes -----------------------------------------------------------------------------------------

function ensureChat(id) {
  if (chats.has(id)) return chats.get(id);
  const node = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
  node.id = `pane-${id}`;
  node.dataset.conversation = id;
  node.hidden = true;
  for (const label of node.querySelectorAll("label[data-for]")) {
    const field = label.parentElement.querySelector(`[name="${label.dataset.for}"]`);
    field.id = `${label.dataset.for}-${id}`;
    label.htmlFor = field.id;
  }
  for (const only of node.querySelectorAll("[data-only]")) {
    if (only.dataset.only !== ROLE) only.remove();
  }
  if (ROLE === "supervisor") node.querySelector(".chat-compose").remove(); // supervisors watch, they do not write
  const tab = el("button", "chat-tab");
  tab.type = "button";
  tab.setAttribute("role", "tab");
  tab.id = `tab-${id}`;
  tab.dataset.conversation = id;
  tab.setAttribute("aria-controls", node.id);
  tab.setAttribute("aria-selected", "false");
  tab.tabIndex = -1;
  const presence = el("span", "chat-tab-presence");
  presence.hidden = true;
  tab.append(el("span", "chat-tab-label", "Conversation"), el("span", "chat-tab-words"), presence,
    el("span", "chat-tab-unread"));
  tab.addEventListener("click", () => select(id));
  node.setAttribute("aria-labelledby", tab.id);
  document.getElementById("tabs").append(tab);
  document.getElementById("panes").append(node);
  const chat = { id, node, tab, seqs: new Set(), whispers: new Set(), lastSeq: 0, unread: 0, summary: {}, lastTyping: 0,
    status: "", following: true, firstWords: "", psyState: { text: "", kind: "" } };
  // A supervisor reads silently and writes only to the team: the internal message form is open at once.
  if (ROLE === "supervisor") node.querySelector(".chat-whisper").open = true;
  chats.set(id, chat);
  wireFollowing(chat);
  wirePane(chat);
  renderPsychologists(chat);
  renderCanned(chat);
  applyActions(chat);
  return chat;
}

function removeChat(chat) {
  chat.node.remove();
  chat.tab.remove();
  chats.delete(chat.id);
  renderLive(liveItems);
  if (active === chat.id) {
    active = null;
    const next = chats.keys().next();
    if (!next.done) select(next.value);
  }
  updateTitle();
}

function select(id) {
  active = id;
  for (const chat of chats.values()) {
    const on = chat.id === id;
    chat.node.hidden = !on;
    chat.tab.setAttribute("aria-selected", on ? "true" : "false");
    chat.tab.tabIndex = on ? 0 : -1; // ARIA tabs: one tab stop, the arrows move between tabs
    chat.tab.classList.toggle("chat-tab--active", on);
    if (on) {
      chat.unread = 0;
      renderUnread(chat);
      markRead(chat);
      if (chat.following) scrollToEnd(chat);
    }
  }
  updateTitle();
}

function renderHead(chat) {
  const s = chat.summary;
  // The canned answers follow the visitor's language, known once the summary arrives.
  if ((s.language || "fr") !== chat.cannedFor) renderCanned(chat);
  const title = `${CATEGORIES[s.category] || "Conversation"} — ${REQUESTERS[s.role] || ""}`;
  chat.node.querySelector(".chat-title").textContent = title;
  renderTabLabel(chat);
  const place = s.commune ? `${s.commune} (${s.postal_code})` : s.postal_code || UNLOCATED_PLACE;
  const language = languageNote(s.language);
  chat.node.querySelector(".chat-meta").textContent = `${place} — ${FORCES[s.force] || ""}${language ? ` — ${language}` : ""}`;
  renderCommuneForm(chat);
  const flags = [s.emergency ? "URGENCE" : "", s.minor ? "Concerne un mineur" : ""].filter(Boolean).join(" · ");
  chat.node.querySelector(".chat-flags").textContent = flags;
  for (const button of chat.node.querySelectorAll(".chat-flag")) {
    button.setAttribute("aria-pressed", s[button.dataset.flag] ? "true" : "false");
  }
  const transfers = chat.node.querySelector(".chat-transfers");
  transfers.replaceChildren();
  for (const t of s.transfers || []) {
    if (t.note) transfers.append(el("p", "chat-transfer-note", `Note de transfert : ${t.note}`));
  }
  if (s.transferred_from) transfers.prepend(el("p", "chat-transfer-note", `Transférée par ${s.transferred_from}.`));
  const subtype = chat.node.querySelector(".chat-subtype");
  if (subtype) subtype.hidden = s.category !== SUBTYPE_CATEGORY;
  const forceButton = chat.node.querySelector(".chat-transfer-force");
  if (forceButton) forceButton.textContent = `Renvoyer vers la ${FORCES[OTHER_FORCE]}`;
}

function setStatus(chat, status, outcome) {
  chat.status = status;
  const line = chat.node.querySelector(".chat-status");
  const live = status === "active";
  const compose = chat.node.querySelector(".chat-compose");
  if (compose) compose.hidden = !live;
  for (const selector of [".chat-psy", ".chat-transfer", ".chat-leave"]) {
    const node = chat.node.querySelector(selector);
    if (node) node.hidden = !live;
  }
  const closeForm = chat.node.querySelector(".chat-close");
  if (status === "abandoned") {
    line.textContent = outcome
      ? `La personne a quitté la conversation. Issue : ${OUTCOMES[outcome] || outcome}.`
      : "La personne a quitté la conversation (ou sa connexion est perdue depuis trop longtemps). Indiquez l'issue pour fermer l'onglet.";
    if (closeForm) closeForm.hidden = Boolean(outcome);
  } else if (status === "closed") {
    line.textContent = `Conversation clôturée${outcome ? ` : ${OUTCOMES[outcome] || outcome}` : ""}.`;
    if (closeForm) closeForm.hidden = true;
    const dismiss = el("button", "fr-btn fr-btn--sm fr-btn--tertiary chat-dismiss", "Fermer l'onglet");
    dismiss.type = "button";
    dismiss.addEventListener("click", () => removeChat(chat));
    if (!chat.node.querySelector(".chat-dismiss")) line.after(dismiss);
  }
  line.hidden = live;
  chat.tab.classList.toggle("chat-tab--ended", !live);
  applyActions(chat);
}

function systemLine(chat, text, className = "chat-system") {
  const li = el("li", className, text);
  chat.node.querySelector(".chat-log").append(li);
  if (chat.following) scrollToEnd(chat);
}

function appendFrame(frame) {
  const chat = chats.get(frame.conversation);
  if (!chat || chat.seqs.has(frame.seq)) return;
  chat.seqs.add(frame.seq);
  chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
  const li = el("li", `chat-line chat-line--${frame.author}`);
  li.dataset.seq = String(frame.seq);
  const mine = frame.author === ROLE;
  li.append(el("span", "chat-author", mine ? "Vous" : AUTHORS[frame.author] || frame.author));
  li.append(el("time", "chat-time", clock(frame.at)));
  if (frame.type === "card") {
    li.append(renderCard(frame));
  } else if (frame.type === "attachment") {
    li.append(renderAttachment(frame));
  } else {
    li.append(el("p", "chat-text", frame.body));
  }
  const log = chat.node.querySelector(".chat-log");
  const after = [...log.querySelectorAll("[data-seq]")].find((n) => Number(n.dataset.seq) > frame.seq);
  log.insertBefore(li, after || log.querySelector("[data-client]") || null);
  if (chat.following) scrollToEnd(chat);
  if (frame.author === "visitor" && frame.type === "message" && !chat.firstWords) {
    chat.firstWords = firstWords(frame.body);
    renderTabLabel(chat);
  }
  if (!mine && frame.author !== "system") {
    chat.node.querySelector(".chat-typing").hidden = true;
    if (active !== chat.id || document.hidden) {
      chat.unread += 1;
      renderUnread(chat);
      updateTitle();
      beep();
    } else {
      markRead(chat);
    }
  }
}

function fileSize(size) {
  const n = Number(size) || 0;
  return n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} Ko`
    : `${(n / (1024 * 1024)).toLocaleString("fr-FR", { maximumFractionDigits: 1 })} Mo`;
}

// A file the visitor attached: its preview (decoded and re-encoded by the server, without metadata) for an image; a
// PDF is listed, never rendered. Nobody here downloads the original: it goes to the local service with consent.
function renderAttachment(frame) {
  const box = el("div", "chat-attachment");
  const kind = frame.media_type === "application/pdf" ? "document PDF"
    : `image ${String(frame.media_type || "").replace("image/", "").toUpperCase()}`;
  box.append(el("p", "chat-attachment-name", `Pièce jointe : ${frame.name} (${kind}, ${fileSize(frame.size)})`));
  if (frame.preview_url) {
    const img = el("img", "chat-attachment-preview");
    img.src = frame.preview_url;
    img.alt = `Aperçu de ${frame.name}, sans ses métadonnées`;
    img.loading = "lazy";
    box.append(img);
  } else {
    box.append(el("p", "chat-attachment-note", "Document non affiché ici : l'original est conservé sous scellés et "
      + "n'est transmis au service local qu'avec l'accord de la personne."));
  }
  box.append(el("p", "chat-attachment-hash", `Empreinte SHA-256 : ${frame.sha256}`));
  return box;
}

// The same fields the visitor's page draws (chat/static/js/cards.js), in the console's compact form.
function renderCard(frame) {
  const card = el("div", `chat-card chat-card--${String(frame.kind || "info").replace(/[^a-z_-]/gi, "")}`);
  card.append(el("strong", "", frame.title || "Information"));
  for (const key of ["body", "text", "phone", "address", "url"]) {
    if (typeof frame[key] === "string" && frame[key]) card.append(el("p", "", frame[key]));
  }
  const items = Array.isArray(frame.items) ? frame.items.filter((item) => item && typeof item === "object") : [];
  if (items.length) {
    const list = el("ul", "chat-card-items");
    for (const item of items) {
      const name = item.number ? `${item.number} — ${item.name || ""}` : item.name || "";
      const details = [item.kind_label, item.address, item.phone || item.contact,
        typeof item.distance_km === "number" ? `à ${item.distance_km.toLocaleString("fr-FR")} km` : "",
        item.availability].filter((part) => typeof part === "string" && part);
      const li = el("li", "", String(name));
      if (details.length) li.append(el("span", "chat-card-details", ` — ${details.join(" · ")}`));
      list.append(li);
    }
    card.append(list);
  }
  return card;
}

function setConsent(chat, state, text) {
  const line = chat.node.querySelector(".chat-consent");
  line.className = `chat-consent chat-consent--${state}`;
  line.textContent = text;
  line.hidden = false;
}

function renderUnread(chat) {
  chat.tab.querySelector(".chat-tab-unread").textContent = chat.unread ? ` (${chat.unread})` : "";
}

function updateTitle() {
  document.getElementById("no-chat").hidden = chats.size > 0;
  const total = [...chats.values()].reduce((sum, chat) => sum + chat.unread, 0);
  const parts = [total ? `(${total}) Nouveau message` : "", waitingCount ? `(${waitingCount}) en attente` : ""];
  const prefix = parts.filter(Boolean).join(" · ");
  document.title = prefix ? `${prefix} — ${baseTitle}` : baseTitle;
}

// One « read » per tchat at most every 1 s, with the latest seq: a burst of lines (a replay, a pasted text in
// several messages) must not spend the console's frame budget (30 frames in a burst, operators/console.py).
const READ_EVERY_MS = 1000;

function markRead(chat) {
  if (!chat.lastSeq || ROLE === "supervisor" || chat.readTimer) return;
  chat.readTimer = setTimeout(() => {
    chat.readTimer = null;
    if (chat.lastSeq > (chat.readSent || 0)) {
      chat.readSent = chat.lastSeq;
      send({ type: "read", conversation: chat.id, seq: chat.lastSeq });
    }
  }, chat.readSent ? READ_EVERY_MS : 0);
}

let audio = null;
function beep() {
  if (muted()) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination);
    osc.frequency.value = 880;
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch {
    // No sound without a user gesture first: the title and the tab counter still say it.
  }
}

function renderCanned(chat) {
  const box = chat.node.querySelector(".chat-canned");
  if (!box || ROLE !== "operator") return;
  box.replaceChildren();
  // The answers in the visitor's language first (issue 22), then French, then the others, each in its order.
  const visitor = (chat.summary && chat.summary.language) || "fr";
  chat.cannedFor = visitor;
  const rank = (answer) => ((answer.language || "fr") === visitor ? 0 : (answer.language || "fr") === "fr" ? 1 : 2);
  const ordered = canned.map((answer, index) => [answer, index])
    .sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j).map(([answer]) => answer);
  for (const answer of ordered) {
    const foreign = answer.language && answer.language !== "fr";
    const label = foreign ? `${answer.title} (${LANGUAGES[answer.language] || answer.language})` : answer.title;
    const button = el("button", "fr-btn fr-btn--tertiary fr-btn--sm chat-canned-answer", label);
    button.dataset.language = answer.language || "fr";
    button.type = "button";
    button.addEventListener("click", () => {
      const body = chat.node.querySelector(".chat-body");
      body.value = body.value ? `${body.value}\n${answer.body}` : answer.body;
      body.focus();
    });
    box.append(button);
  }
}

function newClientId() {
  // getRandomValues works on plain-HTTP intranet addresses too, where randomUUID is not available.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function wireCompose(chat, compose) {
  const node = chat.node;
  const body = node.querySelector(".chat-body");
  compose.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = body.value.trim();
    if (!text) return;
    const frame = { type: "send", conversation: chat.id, client_id: newClientId(), body: text };
    outbox.set(frame.client_id, frame);
    const pending = el("li", "chat-line chat-line--pending", `Envoi… ${text}`);
    pending.dataset.client = frame.client_id;
    node.querySelector(".chat-log").append(pending);
    chat.following = true; // one's own message: back to the newest line
    scrollToEnd(chat);
    send(frame);
    body.value = "";
    body.focus();
  });
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  body.addEventListener("input", () => {
    const now = Date.now();
    if (now - chat.lastTyping > TYPING_EVERY_MS) {
      chat.lastTyping = now;
      send({ type: "typing", conversation: chat.id });
    }
  });
}

function wirePane(chat) {
  const node = chat.node;
  const compose = node.querySelector(".chat-compose");
  if (compose) wireCompose(chat, compose);
  wireCommune(chat);
  node.querySelector(".chat-invite")?.addEventListener("click", () => {
    send({ type: "invite_psychologist", conversation: chat.id });
  });
  for (const button of node.querySelectorAll(".chat-flag")) {
    button.addEventListener("click", () => {
      const flag = button.dataset.flag;
      send({ type: "flag", conversation: chat.id, [flag]: !chat.summary[flag] });
    });
  }
  for (const button of node.querySelectorAll(".chat-suggest")) {
    button.addEventListener("click", () => send({ type: "suggest", conversation: chat.id, kind: button.dataset.kind }));
  }
  node.querySelector(".chat-request-evidence")?.addEventListener("click", () => {
    send({ type: "request_evidence", conversation: chat.id });
  });
  node.querySelector(".chat-signalement-form")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const summary = event.target.elements.summary.value.trim();
    if (!summary) return;
    send({ type: "propose_signalement", conversation: chat.id, summary });
    event.target.closest("details").open = false;
  });
  node.querySelector(".chat-leave")?.addEventListener("click", () => {
    send({ type: "leave", conversation: chat.id });
  });
  node.querySelector(".chat-help")?.addEventListener("click", () => {
    send({ type: "help", conversation: chat.id });
    node.querySelector(".chat-help-state").textContent = "Demande d'aide en cours d'envoi…";
  });
  node.querySelector(".chat-unwatch")?.addEventListener("click", () => {
    if (chat.status === "active") send({ type: "unwatch", conversation: chat.id });
    else removeChat(chat);
  });
  wireWhisper(chat);
  node.querySelector(".chat-transfer-form")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const note = form.elements.note.value;
    if (event.submitter && event.submitter.value === "force") {
      send({ type: "transfer", conversation: chat.id, to_force: OTHER_FORCE, note });
    } else {
      send({ type: "transfer", conversation: chat.id, to_operator: form.elements.to_operator.value.trim(), note });
    }
  });
  wireCloseConfirmation(chat);
}

// Closing is final: « Clôturer » only asks, naming the outcome chosen; « Oui, clôturer » sends the close frame.
function wireCloseConfirmation(chat) {
  const form = chat.node.querySelector(".chat-close");
  if (!form) return;
  const box = form.querySelector(".chat-close-confirm");
  const button = form.querySelector(".chat-close-button");
  const hide = () => {
    box.hidden = true;
    button.hidden = false;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const outcome = form.elements.outcome.value;
    form.querySelector(".chat-close-question").textContent =
      `Clôturer ce tchat ? Issue : ${OUTCOMES[outcome] || outcome}. La personne ne pourra plus vous écrire.`;
    box.hidden = false;
    button.hidden = true;
    form.querySelector(".chat-close-no").focus();
  });
  form.elements.outcome.addEventListener("change", hide);
  form.querySelector(".chat-close-no").addEventListener("click", () => {
    hide();
    button.focus();
  });
  form.querySelector(".chat-close-yes").addEventListener("click", () => {
    const frame = { type: "close", conversation: chat.id, outcome: form.elements.outcome.value, note: form.elements.note.value };
    // Category 3 only: the optional subtype (cyberharcèlement, cybersexisme…) counted in the statistics.
    if (chat.summary.category === SUBTYPE_CATEGORY && form.elements.subtype.value) frame.subtype = form.elements.subtype.value;
    send(frame);
    hide();
  });
}

// ---- tchats started sans localisation (issue 16): both forces' queue, and the commune set afterwards ------------

const UNLOCATED_PLACE = "Lieu non indiqué";
// The console asks the commune search after a pause in typing, not at every key.
const COMMUNE_SEARCH_DELAY_MS = 250;

// Queues are kept by force and category: the force's own, and (force "") the one sans localisation.
function queueKey(frame) {
  return `${frame.force}:${frame.category}`;
}

// A category's waiting tchats: the force's own and those sans localisation, in queue order.
// Emergencies first, then minors; within each, an operator sees first the tchats in another language than French
// that they speak (issue 22: set by a supervisor; anyone can answer in French), then the others by arrival.
function queueItems(category) {
  const own = queues.get(`${FORCE}:${category}`);
  const open = queues.get(`:${category}`);
  const rank = (item) => (item.emergency ? 0 : item.minor ? 1 : 2);
  const mine = (item) => (ROLE === "operator" && item.language && item.language !== "fr" && spoken.has(item.language)
    ? 0 : 1);
  return [...(own ? own.items : []), ...(open ? open.items : [])]
    .sort((a, b) => rank(a) - rank(b) || mine(a) - mine(b)
      || String(a.queued_at).localeCompare(String(b.queued_at)));
}

// How many wait in a category (a snapshot of a long queue lists only its head: ``total`` counts them all).
function queueTotal(category) {
  return [queues.get(`${FORCE}:${category}`), queues.get(`:${category}`)]
    .reduce((sum, queue) => sum + queueSize(queue), 0);
}

function queueSize(queue) {
  return queue ? (typeof queue.total === "number" ? queue.total : queue.items.length) : 0;
}

function placeOf(item) {
  return item.department ? `${item.commune || ""} (${item.department})` : UNLOCATED_PLACE;
}

function renderCommuneForm(chat) {
  const box = chat.node.querySelector(".chat-commune");
  if (box) box.hidden = ROLE !== "operator" || !actions.has("set_commune") || Boolean(chat.summary.insee);
}

function onLocated(frame) {
  const chat = chats.get(frame.conversation);
  if (!chat) return;
  Object.assign(chat.summary, { commune: frame.commune, insee: frame.insee, department: frame.department,
    postal_code: frame.postal_code });
  renderHead(chat);
  systemLine(chat, `Commune indiquée : ${frame.commune} (${frame.department}).${frame.message ? ` ${frame.message}` : ""}`);
}

function wireCommune(chat) {
  const form = chat.node.querySelector(".chat-commune-form");
  if (!form) return;
  const input = form.elements.commune;
  const state = form.querySelector(".chat-commune-state");
  const results = form.querySelector(".chat-commune-results");
  let timer = null;
  form.addEventListener("submit", (event) => event.preventDefault());
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = input.value.trim();
      results.replaceChildren();
      if (query.length < 2) return;
      let data = null;
      try {
        const response = await fetch(`/api/v1/communes?q=${encodeURIComponent(query)}`, { headers: { accept: "application/json" } });
        data = response.ok ? await response.json() : null;
      } catch {
        data = null;
      }
      if (input.value.trim() !== query) return; // typed on meanwhile
      const communes = data && Array.isArray(data.communes) ? data.communes : [];
      state.textContent = communes.length ? `${communes.length} commune(s) trouvée(s).` : "Aucune commune trouvée.";
      for (const commune of communes) {
        const label = `${commune.name} — ${commune.department_name || ""} (${commune.department}) · ${FORCES[commune.force] || ""}`;
        const choose = el("button", "fr-btn fr-btn--tertiary fr-btn--sm chat-commune-choice", label);
        choose.type = "button";
        choose.addEventListener("click", () => {
          send({ type: "set_commune", conversation: chat.id, insee: commune.insee });
          chat.node.querySelector(".chat-commune").open = false;
        });
        const li = el("li");
        li.append(choose);
        results.append(li);
      }
    }, COMMUNE_SEARCH_DELAY_MS);
  });
}

// ---- psychologist invitations -------------------------------------------------------------------------------

function renderInvitation(frame) {
  const list = document.getElementById("invitation-list");
  if (!list || list.querySelector(`[data-invitation="${CSS.escape(frame.invitation)}"]`)) return;
  const li = el("li", "invitation");
  li.dataset.invitation = frame.invitation;
  li.append(el("span", "", `${CATEGORIES[frame.category] || ""} — ${REQUESTERS[frame.role] || ""}, invitation de ${clock(frame.at)} `));
  const button = el("button", "fr-btn fr-btn--sm invitation-accept", "Rejoindre la conversation");
  button.type = "button";
  button.addEventListener("click", () => send({ type: "accept_invitation", invitation: frame.invitation }));
  li.append(button);
  list.append(li);
  document.getElementById("no-invitation").hidden = true;
  beep();
}

// ---- emergency alerts (supervisors) ------------------------------------------------------------------------

function renderAlert(frame) {
  const note = frame.note ? ` Note : « ${frame.note} ».` : "";
  // An alert about a tchat says where and who; one about an account (repeated sign-in failures) is its message.
  const text = frame.conversation
    ? `${frame.message || "Alerte."}${note} ${CATEGORIES[frame.category] || ""}${frame.commune ? `, ${frame.commune}` : ""}${frame.department ? ` (${frame.department})` : ""}${frame.operator ? ` — prise en charge par ${frame.operator}` : ""}.`
    : `${frame.message || "Alerte."}${note}`;
  notice(text);
  announce(text);
  beep();
  const list = document.getElementById("alert-list");
  if (!list || !frame.conversation) return;
  list.querySelector(`[data-conversation="${CSS.escape(frame.conversation)}"]`)?.remove();
  const li = el("li", "alert-item");
  li.dataset.conversation = frame.conversation;
  li.append(el("time", "chat-time", `${clock(new Date().toISOString())} `), el("span", "alert-text", `${text} `));
  const watch = el("button", "fr-btn fr-btn--sm alert-watch", "Suivre la conversation");
  watch.type = "button";
  watch.addEventListener("click", () => {
    send({ type: "resume", conversation: frame.conversation, after: 0 });
    li.remove();
    document.getElementById("alerts").hidden = list.children.length === 0;
  });
  li.append(watch);
  list.prepend(li);
  document.getElementById("alerts").hidden = false;
}

// ---- supervision --------------------------------------------------------------------------------------------

function renderSupervision(frame) {
  const rows = document.getElementById("sup-queues");
  rows.replaceChildren();
  for (const q of frame.queues) {
    const tr = el("tr");
    const wait = q.length ? waited(new Date(Date.now() - q.longest_wait * 1000).toISOString()) : "—";
    tr.append(el("td", "", CATEGORIES[q.category]), el("td", "", String(q.length)), el("td", "", wait));
    rows.append(tr);
  }
  const ops = document.getElementById("sup-operators");
  ops.replaceChildren(...(frame.operators.length
    ? frame.operators.map((o) => el("li", "sup-operator", `${o.display_name} — ${STATUS_LABELS[o.status] || o.status || ""} — ${o.load}/${o.capacity} tchat(s)`))
    : [el("li", "", "Aucun opérateur connecté.")]));
  if (frame.mode) applyTeam({ mode: frame.mode });
  renderLive(frame.live || []);
  const flagged = document.getElementById("sup-flagged");
  flagged.replaceChildren(...(frame.flagged.length
    ? frame.flagged.map((f) => {
      const li = el("li", "sup-flagged", `${f.emergency ? "URGENCE " : ""}${f.minor ? "Mineur " : ""}— ${CATEGORIES[f.category]} (${f.department}) — ${f.operator ? `pris par ${f.operator}` : "en attente"} `);
      const watch = el("button", "fr-btn fr-btn--tertiary fr-btn--sm sup-watch", chats.has(f.conversation) ? "Affiché" : "Suivre");
      watch.type = "button";
      watch.disabled = chats.has(f.conversation);
      watch.addEventListener("click", () => send({ type: "resume", conversation: f.conversation, after: 0 }));
      li.append(watch);
      return li;
    })
    : [el("li", "", "Aucun tchat signalé.")]));
}

// ---- fair load: status, capacity, routing mode and offers (issue 21) ------------------------------------------

const STATUS_LABELS = { available: "disponible", paused: "en pause", absent: "absent·e" };
const MODE_LABELS = { pick: "prise en charge libre", offer: "proposition à tour de rôle" };

function applyTeam(update) {
  const modeChanged = update.mode !== undefined && update.mode !== team.mode;
  team = { ...team, ...update };
  const select = document.getElementById("my-status");
  if (select && team.status) select.value = team.status;
  const info = document.getElementById("team-info");
  if (info) {
    info.textContent = `Capacité : ${team.capacity} tchats en même temps · Distribution : ${MODE_LABELS[team.mode] || team.mode}`
      + (team.mode === "offer" ? " (les personnes vous sont proposées, 30 s pour accepter)." : ".");
  }
  const current = document.getElementById("mode-current");
  if (current) {
    current.textContent = `Mode actuel : ${MODE_LABELS[team.mode] || team.mode}.`;
    const radio = document.getElementById(`mode-${team.mode}`);
    if (radio && modeChanged) radio.checked = true;
    if (radio && !document.querySelector("#mode-form input:checked")) radio.checked = true;
  }
  if (modeChanged) renderQueues();
}

function showOffer(frame) {
  hideOffer();
  const box = document.getElementById("offer");
  if (!box) return;
  const flags = [frame.emergency ? "URGENCE" : "", frame.minor ? "concerne un mineur" : ""].filter(Boolean).join(", ");
  document.getElementById("offer-text").textContent =
    `${CATEGORIES[frame.category] || ""} — ${REQUESTERS[frame.role] || ""}, ${frame.commune || ""} (${frame.department}), attend depuis ${waited(frame.queued_at)}${flags ? ` — ${flags}` : ""}.`;
  const countdown = document.getElementById("offer-countdown");
  const tick = () => {
    const left = Math.max(0, Math.ceil((Date.parse(frame.expires_at) - Date.now()) / 1000));
    countdown.textContent = `Il vous reste ${left} s pour accepter.`;
  };
  tick();
  offer = { frame, timer: setInterval(tick, 1000) };
  box.hidden = false;
  chime();
  announce(`Une personne vous est proposée : ${CATEGORIES[frame.category] || ""}. Vous avez ${frame.seconds} secondes pour accepter.`);
  if (document.hidden) notifyWaiting({ category: frame.category, role: frame.role });
}

function hideOffer() {
  if (offer) clearInterval(offer.timer);
  offer = null;
  const box = document.getElementById("offer");
  if (box) box.hidden = true;
}

function wireTeam() {
  document.getElementById("offer-accept")?.addEventListener("click", () => {
    if (!offer) return;
    pendingTake = offer.frame.conversation;
    send({ type: "accept_offer", offer: offer.frame.offer });
  });
  document.getElementById("my-status")?.addEventListener("change", (event) => {
    send({ type: "set_status", status: event.target.value });
  });
  document.getElementById("mode-form")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = event.target.querySelector("input[name=mode]:checked");
    if (chosen) send({ type: "set_mode", mode: chosen.value });
  });
}

// ---- a supervisor at the operator's side: whispers, silent reading, help (issue 21) -----------------------------

let liveItems = []; // the last live view's tchats: redrawn when one is opened or closed here

function renderLive(items) {
  const list = document.getElementById("sup-live");
  if (!list) return;
  liveItems = items;
  list.replaceChildren(...(items.length
    ? items.map((t) => {
      const flags = [t.emergency ? "URGENCE" : "", t.minor ? "Mineur" : ""].filter(Boolean).join(" ");
      const li = el("li", "sup-live", `${flags ? `${flags} — ` : ""}${CATEGORIES[t.category] || ""}, ${t.commune || ""} (${t.department}) — ${t.operator || "?"}${t.taken_at ? `, depuis ${waited(t.taken_at)}` : ""} `);
      const open = chats.has(t.conversation);
      const read = el("button", "fr-btn fr-btn--tertiary fr-btn--sm sup-read", open ? "Affichée" : "Lire");
      read.type = "button";
      read.disabled = open;
      read.setAttribute("aria-label", open ? "Conversation déjà affichée" : `Lire la conversation ${CATEGORIES[t.category] || ""} de ${t.operator || ""}`);
      read.addEventListener("click", () => send({ type: "resume", conversation: t.conversation, after: 0 }));
      li.append(read);
      return li;
    })
    : [el("li", "", "Aucun tchat en cours.")]));
}

// A whisper sits after the message it followed (after_seq) and before the next one; dedup by its id.
function appendWhisper(frame) {
  const chat = chats.get(frame.conversation);
  if (!chat || chat.whispers.has(frame.id)) return;
  chat.whispers.add(frame.id);
  const mine = myWhispers.has(frame.client_id);
  const li = el("li", "chat-line chat-line--whisper");
  li.dataset.whisper = String(frame.id);
  li.append(el("span", "chat-author", mine ? "Vous" : `${frame.author_name} (${AUTHORS[frame.author] || frame.author})`));
  li.append(el("span", "chat-whisper-mark", "Message interne — la personne ne le voit pas"));
  li.append(el("time", "chat-time", clock(frame.at)));
  li.append(el("p", "chat-text", frame.body));
  const log = chat.node.querySelector(".chat-log");
  const next = [...log.querySelectorAll("[data-seq]")].find((n) => Number(n.dataset.seq) > frame.after_seq);
  log.insertBefore(li, next || log.querySelector("[data-client]") || null);
  if (chat.following) scrollToEnd(chat);
  if (!mine) {
    announce(`Message interne de ${frame.author_name}.`);
    if (active !== chat.id || document.hidden) {
      chat.unread += 1;
      renderUnread(chat);
      updateTitle();
    }
    beep();
  }
}

function wireWhisper(chat) {
  const form = chat.node.querySelector(".chat-whisper-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = form.elements.whisper.value.trim();
    if (!text) return;
    const frame = { type: "whisper", conversation: chat.id, client_id: newClientId(), body: text };
    outbox.set(frame.client_id, frame);
    myWhispers.add(frame.client_id);
    const pending = el("li", "chat-line chat-line--pending chat-line--whisper", `Envoi (interne)… ${text}`);
    pending.dataset.client = frame.client_id;
    chat.node.querySelector(".chat-log").append(pending);
    chat.following = true;
    scrollToEnd(chat);
    send(frame);
    form.elements.whisper.value = "";
  });
}

// ---- tab labels, visitor presence, following the newest line (issue 16) --------------------------------------

function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

function firstWords(body) {
  const text = String(body || "").replace(/\s+/g, " ").trim();
  if (text.length <= FIRST_WORDS_CHARS) return text;
  const cut = text.slice(0, FIRST_WORDS_CHARS - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > FIRST_WORDS_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`; // whole words when possible
}

// Category and place, then the visitor's first words (or when they arrived): four tabs read differently.
function renderTabLabel(chat) {
  const s = chat.summary;
  const place = s.commune || (s.department ? `dép. ${s.department}` : "");
  chat.tab.querySelector(".chat-tab-label").textContent =
    [SHORT_CATEGORIES[s.category] || "Conversation", place].filter(Boolean).join(" · ");
  const words = chat.firstWords ? `« ${chat.firstWords} »` : s.queued_at ? `arrivée à ${clock(s.queued_at)}` : "";
  chat.tab.querySelector(".chat-tab-words").textContent = words;
}

function setPresence(chat, connected) {
  const badge = chat.tab.querySelector(".chat-tab-presence");
  badge.hidden = false;
  badge.textContent = connected ? "en ligne" : "hors ligne";
  badge.classList.toggle("chat-tab-presence--online", connected);
  const line = chat.node.querySelector(".chat-presence");
  line.textContent = connected ? "La personne est connectée."
    : "La personne n'est pas connectée en ce moment (elle peut revenir).";
  line.classList.toggle("chat-presence--online", connected);
}

function scrollToEnd(chat) {
  const log = chat.node.querySelector(".chat-log");
  log.scrollTop = log.scrollHeight;
}

// The transcript scrolls in its own box, never the page: the queues and the tabs stay where they are.
function wireFollowing(chat) {
  const log = chat.node.querySelector(".chat-log");
  log.addEventListener("scroll", () => {
    if (chat.node.hidden) return;
    chat.following = log.scrollHeight - log.scrollTop - log.clientHeight <= FOLLOW_SLACK_PX;
  });
}

// ARIA tabs pattern: Left/Right move to the previous/next tab and show it, Home/End to the first/last.
function wireTabKeys() {
  const list = document.getElementById("tabs");
  list.addEventListener("keydown", (event) => {
    const tabs = [...list.querySelectorAll("[role=tab]")];
    const at = tabs.indexOf(document.activeElement);
    if (at < 0 || !tabs.length) return;
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    select(next.dataset.conversation);
    next.focus();
  });
}

// ---- psychologist availability, before the click (issue 16) ---------------------------------------------------

const PSYCHOLOGIST_ERRORS = new Set(["psychologist_unavailable", "invitation_pending"]);

function availabilityText() {
  if (!psychologists) return "";
  if (!psychologists.open) return `Psychologue : hors permanence. ${psychologists.next}`;
  const n = psychologists.present;
  if (!n) return "Psychologue : permanence ouverte, mais aucune psychologue connectée pour l'instant.";
  return `Psychologue : ${n} connectée${n > 1 ? "s" : ""}, disponible${n > 1 ? "s" : ""} pour rejoindre la conversation.`;
}

function renderPsychologists(chat) {
  const box = chat.node.querySelector(".chat-psy");
  if (!box || !psychologists) return;
  const text = availabilityText();
  const line = box.querySelector(".chat-psy-availability");
  if (line.textContent !== text) line.textContent = text;
  box.querySelector(".chat-invite").disabled = !psychologists.open;
  // A refusal (« aucune psychologue présente ») is stale once a psychologist can be invited: it goes.
  if (chat.psyState.kind === "refused" && psychologists.open && psychologists.present > 0) setPsyState(chat, "", "");
}

function setPsyState(chat, text, kind) {
  chat.psyState = { text, kind };
  const line = chat.node.querySelector(".chat-psy-state");
  if (!line) return;
  line.textContent = text;
  line.hidden = !text;
  line.className = `chat-psy-state${kind ? ` chat-psy-state--${kind}` : ""}`;
}

// ---- someone new is waiting: title, sound, desktop notification (issue 16) ------------------------------------

const MUTED_KEY = "pnav.console.muted";

function muted() {
  try {
    return localStorage.getItem(MUTED_KEY) === "1";
  } catch {
    return false;
  }
}

// Two short rising tones, distinct from the single beep of a new message; made here, no sound file to fetch.
function chime() {
  if (muted()) return;
  try {
    audio = audio || new AudioContext();
    const gain = audio.createGain();
    gain.gain.value = 0.06;
    gain.connect(audio.destination);
    [660, 880].forEach((frequency, index) => {
      const osc = audio.createOscillator();
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(audio.currentTime + index * 0.16);
      osc.stop(audio.currentTime + index * 0.16 + 0.14);
    });
  } catch {
    // No sound before the first click on the page: the title still counts the people waiting.
  }
}

// The notification names the tchat and the person's role, never anything they wrote.
function notifyWaiting(item) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const note = new Notification("Une personne attend", {
      body: `${CATEGORIES[item.category] || "Tchat"} — ${capitalised(REQUESTERS[item.role] || "")}`.trim(),
      tag: "pnav-waiting",
    });
    note.addEventListener("click", () => window.focus());
  } catch {
    // Some browsers only allow notifications from a service worker: the title and the sound remain.
  }
}

function alertNewWaiting(previous, frame) {
  if (ROLE !== "operator") return;
  queues.set(queueKey(frame), frame);
  waitingCount = [...queues.values()].reduce((sum, queue) => sum + queueSize(queue), 0);
  updateTitle();
  if (!previous) return; // the first snapshot of a queue is what was already there, not news
  const seen = [...previous.items, ...(previous.newest ? [previous.newest] : [])];
  const candidates = [...frame.items, ...(frame.newest ? [frame.newest] : [])];
  let arrived;
  if (previous.items.length >= queueSize(previous)) {
    // The previous snapshot listed the whole queue: whoever it did not list arrived since.
    const before = new Set(seen.map((item) => item.id));
    arrived = candidates.filter((item) => !before.has(item.id));
  } else {
    // Only its head: those who joined the queue after the newest arrival it named (people moving up into the
    // head are not news).
    const last = previous.newest ? String(previous.newest.queued_at) : "";
    arrived = candidates.filter((item) => String(item.queued_at).localeCompare(last) > 0);
  }
  if (!arrived.length) return;
  chime();
  notifyWaiting(arrived[0]);
}

function wireTools() {
  const sound = document.getElementById("sound-toggle");
  if (sound) {
    const show = () => {
      sound.setAttribute("aria-pressed", muted() ? "false" : "true");
      sound.textContent = muted() ? "Son coupé" : "Son activé";
    };
    sound.addEventListener("click", () => {
      try {
        localStorage.setItem(MUTED_KEY, muted() ? "0" : "1");
      } catch {
        // Storage refused: the button still says what it is.
      }
      show();
    });
    show();
  }
  const ask = document.getElementById("notify-enable");
  if (ask && "Notification" in window && Notification.permission === "default") {
    ask.hidden = false;
    ask.addEventListener("click", async () => {
      await Notification.requestPermission();
      ask.hidden = Notification.permission !== "default";
    });
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && active && chats.has(active)) {
    const chat = chats.get(active);
    chat.unread = 0;
    renderUnread(chat);
    updateTitle();
    markRead(chat);
  }
});
setInterval(renderQueues, QUEUE_TICK_MS);
renderQueues();
wireTabKeys();
wireTools();
wireTeam();
connect();
