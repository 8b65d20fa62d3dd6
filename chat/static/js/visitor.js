// Shared by every visitor page: the quick exit, navigation that leaves no trail in the tab's history, and the
// visitor's language (kept in sessionStorage only, and carried in the URL of the pages it opens).
// No import of i18n.js here: it waits for the catalogue, and the quick exit must work from the first instant.
import { currentTchat, read, wipe, write } from "./session.js";

// Two presses of Escape within this window trigger the quick exit: long enough for a panicked double press,
// short enough that closing a menu with Escape and another one a few seconds later does not throw anyone out.
const ESCAPE_WINDOW_MS = 1500;

const beforeExit = [];

// Other modules (the chat client) register what must happen before the page goes away.
export function onQuickExit(fn) {
  beforeExit.push(fn);
}

function exitUrl() {
  return document.body.dataset.exitUrl || "https://meteofrance.com/";
}

export function quickExit() {
  document.documentElement.classList.add("pnav-leaving"); // hide the page at once, before the network answers
  document.title = "";
  const tchat = currentTchat();
  for (const fn of beforeExit) {
    try {
      fn();
    } catch {
      /* leaving matters more than any clean-up */
    }
  }
  if (tchat && navigator.sendBeacon) {
    try {
      // A plain string body: the beacon needs no preflight and survives the page being replaced.
      navigator.sendBeacon("/api/v1/conversations/leave", JSON.stringify({ token: tchat.token }));
    } catch {
      /* the server also marks the tchat abandoned when the visitor stays away */
    }
  }
  wipe();
  window.location.replace(exitUrl());
}

// The languages of the menu (each named in itself); the one chosen is kept for the tab's lifetime.
function spoken() {
  return new Set(Array.from(document.querySelectorAll("#langues [data-lang]"), (a) => a.dataset.lang));
}

function withLanguage(url) {
  const target = new URL(url, window.location.href);
  const chosen = read("lang");
  if (target.origin === window.location.origin && typeof chosen === "string" && !target.searchParams.has("lang")) {
    target.searchParams.set("lang", chosen);
  }
  return target.href;
}

// A language in the URL is the visitor's choice (the menu): keep it. Without one, a page opened in another language
// than the one chosen earlier in this tab (a typed address, a bookmark) reloads in the chosen one.
function keepLanguage() {
  const languages = spoken();
  const asked = new URLSearchParams(window.location.search).get("lang");
  if (asked && languages.has(asked)) {
    write("lang", asked);
    return;
  }
  const chosen = read("lang");
  if (typeof chosen === "string" && chosen !== document.documentElement.lang && languages.has(chosen)) {
    window.location.replace(withLanguage(window.location.href));
  }
}

// Internal navigation replaces the current history entry: "back" never walks through the visitor's path here.
export function go(url) {
  window.location.replace(withLanguage(url));
}

function onClick(event) {
  const link = event.target instanceof Element ? event.target.closest("a[data-replace]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(link.href);
}

let lastEscape = 0;

function onKey(event) {
  if (event.key !== "Escape" || event.repeat) return;
  const now = Date.now();
  if (now - lastEscape <= ESCAPE_WINDOW_MS) {
    event.preventDefault();
    quickExit();
    return;
  }
  lastEscape = now;
}

const exitButton = document.getElementById("quitter-bouton");
if (exitButton) {
  exitButton.addEventListener("click", (event) => {
    event.preventDefault();
    quickExit();
  });
}
keepLanguage();
document.addEventListener("click", onClick);
document.addEventListener("keydown", onKey, true);
