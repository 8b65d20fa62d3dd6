// Files a visitor attaches (POST /api/v1/attachments, or /api/v1/followup/{code}/attachments from /suivi; docs:
// API.md) and the receipts drawn for them. No DOM state is kept here beyond the items it returns.
//
// Guarantees the pages rely on:
// - each file gets a client_id chosen once; a send cut by the network (or refused for a passing reason: 429, 503)
//   is retried with the same client_id until the server answers, so the server stores it once;
// - the file stays in this tab's memory only while it is on its way (never in sessionStorage): a reload forgets a
//   file not yet sent, never one already received (its receipt comes back with the transcript);
// - the receipt (SHA-256 of the bytes the server received, and its time) is compared with the digest of the file
//   computed on this device, when the browser can.
import { LOCALE } from "./i18n.js";
import { errorText } from "./errors.js";
import { randomId } from "./session.js";
import { T } from "./strings.js";

// After a network failure: 2 s, doubling up to 30 s (like the tchat's reconnection), or at once when the browser
// says the network is back.
const RETRY_BASE_MS = 2000;
const RETRY_CAP_MS = 30000;

const dateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "long", timeStyle: "medium" });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
  return node;
}

export function receivedText(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at || "") : dateTime.format(date);
}

// The SHA-256 of a file as this device reads it, or null where the browser cannot (no SubtleCrypto).
export async function digest(file) {
  try {
    const hash = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

// The receipt of a received file: name, kind, size, when, its SHA-256; `local` (the digest computed here) adds
// whether they match. Returns a <div>.
export function receipt(frame, local = null) {
  const box = el("div", "pnav-receipt");
  box.append(el("p", "pnav-receipt__title", T.receipt));
  const at = receivedText(frame.at || frame.received_at);
  box.append(el("p", "pnav-receipt__line", T.receivedAt(at)));
  const hash = el("p", "pnav-receipt__line", T.fingerprint);
  const code = el("code", "pnav-receipt__hash", frame.sha256);
  code.setAttribute("translate", "no");
  hash.append(" ", code);
  box.append(hash);
  const check = el("p", "pnav-receipt__check");
  box.append(check);
  showMatch(box, frame.sha256, local);
  const button = el("button", "fr-btn fr-btn--sm fr-btn--tertiary pnav-receipt__copy", T.copyReceipt);
  button.type = "button";
  const status = el("p", "pnav-receipt__status");
  status.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    status.textContent = (await copy(T.receiptText(frame.name, at, frame.sha256))) ? T.receiptCopied : "";
  });
  box.append(button, status);
  return box;
}

export function showMatch(box, sha256, local) {
  const check = box.querySelector(".pnav-receipt__check");
  if (!check || !local) return;
  check.textContent = local === sha256 ? T.fingerprintMatches : T.fingerprintDiffers;
  check.dataset.match = local === sha256 ? "true" : "false";
}

export function fileLine(name, mediaType, size) {
  const line = el("p", "pnav-attachment__name");
  const strong = el("strong", null, name);
  strong.dir = "auto";
  line.append(strong, ` — ${T.fileKind(mediaType)}, ${T.fileSize(size)}`);
  return line;
}

// Sends files one after another (the first chosen goes first), each retried until the server answers.
export class Uploader extends EventTarget {
  constructor({ url, token = null, maxBytes = 10 * 1024 * 1024 }) {
    super();
    this.url = url;
    this.token = token;
    this.maxBytes = maxBytes;
    this.queue = [];
    this.busy = null;
    this.timer = null;
    this.attempt = 0;
    window.addEventListener("online", () => this.retryNow());
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Queue a file: "pending" at once (with the entry), then "progress", "waiting", "done" or "failed".
  add(file, keepName) {
    const entry = { client_id: randomId("f-"), file, keepName: Boolean(keepName), local: null };
    this.emit("pending", entry);
    if (file.size > this.maxBytes) {
      this.emit("failed", { entry, message: T.tooBig(this.maxBytes) });
      return entry;
    }
    digest(file).then((local) => {
      entry.local = local;
      this.emit("digest", entry);
    });
    this.queue.push(entry);
    this.next();
    return entry;
  }

  drop(entry) {
    this.queue = this.queue.filter((item) => item !== entry);
  }

  retryNow() {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.next();
  }

  next() {
    if (this.busy || this.timer || !this.queue.length) return;
    const entry = this.queue[0];
    this.busy = entry;
    const form = new FormData();
    form.append("client_id", entry.client_id);
    if (entry.keepName) form.append("keep_name", "1");
    form.append("file", entry.file, entry.file.name || "fichier");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", this.url);
    if (this.token) xhr.setRequestHeader("Authorization", `Bearer ${this.token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      const percent = event.lengthComputable ? Math.floor((event.loaded / event.total) * 100) : null;
      this.emit("progress", { entry, percent });
    });
    const settled = () => {
      this.busy = null;
    };
    xhr.addEventListener("load", () => {
      settled();
      const body = xhr.response && typeof xhr.response === "object" ? xhr.response : {};
      if (xhr.status === 201) {
        this.attempt = 0;
        this.queue.shift();
        this.emit("done", { entry, receipt: body });
        this.next();
        return;
      }
      const error = body.error || {};
      if (xhr.status === 429 || xhr.status >= 500 || error.retry) {
        this.later(entry, errorText(error, T.uploadRetrying));
        return;
      }
      this.queue.shift();
      this.emit("failed", { entry, message: errorText(error, T.uploadFailed) });
      this.next();
    });
    // The network failed (offline, connection cut mid-upload): the same client_id goes again later.
    xhr.addEventListener("error", () => {
      settled();
      this.later(entry, navigator.onLine === false ? T.uploadWaiting : T.uploadRetrying);
    });
    xhr.addEventListener("abort", () => {
      settled();
      this.later(entry, T.uploadRetrying);
    });
    this.emit("progress", { entry, percent: 0 });
    xhr.send(form);
  }

  later(entry, message) {
    const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.emit("waiting", { entry, message });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.next();
    }, ceiling);
  }
}
