// The visitor's side of the /ws/visitor protocol (docs: API.md), without any DOM: connection, resume by seq,
// the offline outbox, deduplication. The page listens to its events and draws.
//
// Guarantees the page relies on:
// - every frame of the transcript (message, card, and the stored events: joined, left, transferred,
//   consent_request, consent_result, and those of other packages such as psychologist_offer) is delivered once, in
//   seq order (a seq already seen is dropped), whether it arrives live or replayed after a reload. A frame belongs
//   to the transcript when it carries a seq (a read receipt's seq is a position, not its own);
// - a message typed while offline waits in the outbox (sessionStorage, survives a reload) with a client_id
//   chosen once, and is resent on every reconnection until acknowledged: the server stores it once;
// - the outbox goes out in order, one message at a time: the next is sent once the previous is acknowledged, so a
//   long text cut into several messages (or messages typed offline) keeps its order even when the server asks to
//   slow down;
// - a bad or expired token (close code 4401) stops everything: no reconnection.
import { _ } from "./i18n.js";
import { errorText } from "./errors.js";
import { read, write, randomId } from "./session.js";

// Reconnection delay: 1 s doubling up to 30 s, with "equal jitter" (between half and all of it) so that the
// phones of a whole neighbourhood whose mobile cell came back do not reconnect in the same instant. 30 s caps
// how long a visitor waits after the network returns when the browser did not tell us ("online" retries at once).
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
// A socket that opened but did not get its welcome within 15 s is stuck (captive portal, half-open proxy).
const WELCOME_TIMEOUT_MS = 15000;
// The server relays at most one typing notice per 2 s; sending more often would only cost the phone's battery.
const TYPING_EVERY_MS = 2000;
// A send refused for a passing reason (rate limit, storage briefly unavailable) is retried after 3 s.
const RETRY_SEND_MS = 3000;
// Liveness: a ping every 25 s (under the 30–60 s idle timeouts of mobile carriers); if nothing at all came back
// within 10 s more, the connection is half-open (the phone changed network): drop it and resume at once.
const PING_EVERY_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
export const CLOSE_BAD_TOKEN = 4401;

export function normalise(text) {
  return text.replace(/\r\n?/g, "\n").normalize("NFC").trim();
}

export class TchatClient extends EventTarget {
  constructor(token, { url } = {}) {
    super();
    this.token = token;
    this.url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/visitor`;
    this.ws = null;
    this.state = "idle";
    this.lastSeq = 0;
    this.seen = new Set();
    this.ackedBySeq = new Map(); // seq → client_id, for acks that overtook their message frame
    this.outbox = read("outbox", []);
    // The highest seq this tab has ever known (persisted across reloads). A pending message is stored after it
    // was typed, so its seq is above the floor recorded with it: an older message with the same text never
    // binds to it.
    this.highestSeq = read("highest_seq", 0);
    this.attempt = 0;
    this.timer = null;
    this.welcomeTimer = null;
    this.retryTimer = null;
    this.lastTyping = 0;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.ended = false;
    this.welcomed = false;
    this.inFlight = null; // client_id of the outbox entry sent on this connection and not yet acknowledged
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit("state", { state, ...extra });
  }

  pending() {
    return this.outbox.slice();
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.goneOffline());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && (this.state === "waiting" || this.state === "offline")) {
        this.reconnectNow(); // a phone unlocked after a while: do not make the person wait for the timer
      }
    });
    if (navigator.onLine === false) this.goneOffline();
    else this.connect();
  }

  connect() {
    if (this.ended) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.welcomed = false;
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({ type: "hello", token: this.token, after: this.lastSeq }));
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.inFlight = null;
      clearTimeout(this.welcomeTimer);
      clearInterval(this.pingTimer);
      if (event.code === CLOSE_BAD_TOKEN) {
        this.ended = true;
        this.setState("invalid");
        this.emit("invalid", { message: this.invalidMessage });
        return;
      }
      if (this.ended) {
        this.setState("ended");
        return;
      }
      if (navigator.onLine === false) this.goneOffline();
      else this.scheduleReconnect();
    });
    this.welcomeTimer = setTimeout(() => {
      if (this.ws === ws && !this.welcomed) ws.close();
    }, WELCOME_TIMEOUT_MS);
  }

  startPinging() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.pingTimer = setInterval(() => {
      if (this.ws !== ws) {
        clearInterval(this.pingTimer);
        return;
      }
      if (Date.now() - this.lastFrameAt > PING_EVERY_MS + PONG_TIMEOUT_MS) {
        ws.close(); // half-open: the close handler schedules the reconnection and the resume
        return;
      }
      this.sendFrame({ type: "ping" });
    }, PING_EVERY_MS);
  }

  scheduleReconnect() {
    if (this.ended || this.timer) return;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.setState("waiting", { retryAt: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  reconnectNow() {
    if (this.ended || this.state === "open" || this.state === "connecting") return;
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.connect();
  }

  goneOffline() {
    if (this.ended) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null; // its close event is ignored: we already know
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
    this.setState("offline");
    // Some browsers never fire "online" after a network change: keep trying slowly anyway.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, BACKOFF_CAP_MS);
  }

  sendFrame(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.welcomed) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        this.welcomed = true;
        this.attempt = 0;
        clearTimeout(this.welcomeTimer);
        this.startPinging();
        this.setState("open");
        this.emit("welcome", frame);
        this.inFlight = null; // a new connection: the head of the outbox goes (again) after the replay
        this.flush();
        break;
      case "message":
      case "card":
        this.onSeqFrame(frame);
        break;
      case "ack":
        this.onAck(frame);
        break;
      case "closed":
        this.ended = true;
        this.failPending(_("Non envoyé : le tchat est terminé."));
        this.emit("closed", frame);
        if (this.ws) this.ws.close(1000);
        break;
      case "error":
        this.onError(frame);
        break;
      default:
        // Stored events (joined, left, consent…) carry a seq: in order, once. Without one (a tchat that had already
        // ended), and for queue, typing, read, flags…: passed on as they come.
        if (frame.seq !== undefined && frame.type !== "read") this.onSeqFrame(frame);
        else this.emitEvent(frame);
    }
  }

  emitEvent(frame) {
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  onSeqFrame(frame) {
    const seq = Number(frame.seq);
    if (!Number.isInteger(seq) || seq <= 0 || this.seen.has(seq)) return;
    this.seen.add(seq);
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.raiseFloor(seq);
    if (frame.type !== "message" && frame.type !== "card") {
      this.emitEvent(frame);
      return;
    }
    let own = null;
    if (frame.type === "message" && frame.author === "visitor") {
      own = this.ackedBySeq.get(seq) || null;
      const stated = frame.client_id ? String(frame.client_id) : null;
      if (own) {
        this.ackedBySeq.delete(seq);
      } else if (stated && this.outbox.some((item) => item.client_id === stated)) {
        own = stated;
        this.dropFromOutbox(own);
      } else {
        // The message overtook its ack (or the ack was lost with the connection): bind it to the oldest
        // pending entry with the same text, which is the one the server stored first.
        const body = normalise(String(frame.body || ""));
        const entry = this.outbox.find((item) => item.body === body && seq > (item.floor || 0));
        if (entry) {
          own = entry.client_id;
          this.dropFromOutbox(own);
        }
      }
    }
    this.emit(frame.type, { frame, own });
  }

  onAck(frame) {
    const clientId = String(frame.client_id || "");
    const seq = Number(frame.seq);
    const entry = this.outbox.find((item) => item.client_id === clientId);
    if (Number.isInteger(seq)) this.raiseFloor(seq);
    if (!entry) return; // already bound to its message frame
    this.dropFromOutbox(clientId);
    if (this.seen.has(seq)) {
      // Its message was already drawn on its own (text changed on the server): the pending copy must go.
      this.emit("superseded", { client_id: clientId, seq });
    } else {
      this.ackedBySeq.set(seq, clientId);
      this.emit("acked", { client_id: clientId, seq });
    }
  }

  onError(frame) {
    if (frame.code === "invalid_token") {
      this.invalidMessage = errorText(frame);
      return; // the 4401 close follows
    }
    const clientId = frame.client_id ? String(frame.client_id) : null;
    if (clientId && this.outbox.some((item) => item.client_id === clientId)) {
      if (frame.code === "rate_limited" || frame.retry) {
        if (this.inFlight === clientId) this.inFlight = null;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.flush(), RETRY_SEND_MS);
        this.emit("delayed", { client_id: clientId, message: errorText(frame) });
        return;
      }
      this.dropFromOutbox(clientId);
      this.emit("failed", { client_id: clientId, message: errorText(frame) });
      return;
    }
    this.emit("problem", { code: frame.code, message: errorText(frame) });
  }

  raiseFloor(seq) {
    if (seq > this.highestSeq) {
      this.highestSeq = seq;
      write("highest_seq", seq);
    }
  }

  dropFromOutbox(clientId) {
    this.outbox = this.outbox.filter((item) => item.client_id !== clientId);
    write("outbox", this.outbox);
    if (this.inFlight === clientId) this.inFlight = null;
    this.flush(); // the next one, if any
  }

  failPending(message) {
    for (const item of this.outbox) this.emit("failed", { client_id: item.client_id, message });
    this.outbox = [];
    this.inFlight = null;
    write("outbox", this.outbox);
  }

  // Send the oldest waiting message, unless it is already on its way: one at a time, in order.
  flush() {
    const head = this.outbox[0];
    if (!head || this.inFlight === head.client_id) return;
    if (this.sendFrame({ type: "send", client_id: head.client_id, body: head.body })) this.inFlight = head.client_id;
  }

  // Queue a message: drawn at once as pending, sent now if connected, else on the next welcome.
  send(text) {
    const body = normalise(text);
    if (!body || this.ended) return null;
    const entry = { client_id: randomId("v-"), body, at: new Date().toISOString(), floor: this.highestSeq };
    this.outbox.push(entry);
    write("outbox", this.outbox);
    this.emit("pending", { entry, online: this.state === "open" });
    this.flush();
    return entry;
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY_MS) return;
    if (this.sendFrame({ type: "typing" })) this.lastTyping = now;
  }

  markRead() {
    if (this.lastSeq > 0) this.sendFrame({ type: "read", seq: this.lastSeq });
  }

  // Leave the tchat: true when the server was told over the socket (the caller uses a beacon otherwise).
  leave() {
    const told = this.sendFrame({ type: "leave" });
    this.ended = true;
    clearTimeout(this.timer);
    return told;
  }
}
