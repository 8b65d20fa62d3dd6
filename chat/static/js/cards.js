// Cards sent in the tchat (orientation, helplines, evidence advice, consent request…), drawn as plain accessible
// HTML: a heading, text, a list of places or numbers with call links. Every value goes through textContent, so
// nothing a card carries can inject markup. Unknown kinds get the same generic rendering.
import { _, LANG, N_, number as formatNumber } from "./i18n.js";
import { T } from "./strings.js";

const TITLES = {
  orientation: _("Près de chez vous"),
  support: _("Près de chez vous"),
  helplines: _("Numéros utiles"),
  helpline: _("Numéro utile"),
  evidence: _("Garder des preuves"),
  evidence_upload: _("Vous pouvez déposer des captures d'écran ici"),
  followup: _("Votre code de suivi"),
  consent_request: _("Transmettre un signalement"),
};

// The opening hours, cost and channels of the national numbers (routing's data, as chat/pages.py HELPLINE_TEXTS),
// marked for extraction: a card shows them in the page's language, and any other value (a local service's hours)
// as it came.
N_("24h/24 7j/7");
N_("7j/7, 9h–20h ; messagerie de rappel en dehors de ces horaires");
N_("7j/7, 9h–23h");
N_("SMS ; application « Urgence 114 » (visio en LSF, tchat, texte) ; permet aussi d'alerter discrètement");
N_("appel");
N_("appel ; anonyme");
N_("appel ; e-mail victimes@france-victimes.fr ; depuis l'étranger : +33 1 80 52 33 76");
N_("appel ; tchat sur 3018.fr ; application 3018");
N_("appel ; tchat sur allo119.gouv.fr (moins de 21 ans)");
N_("gratuit");

// A card's title comes from the console, in French: in another language, the title of its kind comes first.
function cardTitle(frame, kind) {
  const known = Object.prototype.hasOwnProperty.call(TITLES, kind) ? TITLES[kind] : "";
  return (LANG !== "fr" && known) || str(frame.title) || known || _("Information");
}

function dataText(value) {
  return value ? _(value) : value;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
  return node;
}

function str(value) {
  return typeof value === "string" || typeof value === "number" ? String(value).trim() : "";
}

function safeUrl(value) {
  const text = str(value);
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function telHref(number) {
  const digits = str(number).replace(/[^\d+]/g, "");
  return digits ? `tel:${digits}` : null;
}

function itemsOf(card) {
  for (const key of ["items", "helplines", "numbers", "support", "supports", "points", "places", "services"]) {
    if (Array.isArray(card[key])) return card[key].filter((item) => item && typeof item === "object");
  }
  return [];
}

function renderItem(item) {
  const li = el("li", "pnav-card__item");
  const name = str(item.name) || str(item.title) || str(item.label);
  const number = str(item.number);
  const sms = str(item.sms); // a number reached by text message (114): an SMS link, not a call link
  const phone = str(item.phone) || (sms ? "" : number);
  if (number && name) li.append(el("p", "pnav-card__name", `${number} — ${name}`));
  else if (name || number) li.append(el("p", "pnav-card__name", name || number));
  const kind = str(item.kind_label) || str(item.type_label);
  if (kind) li.append(el("p", "pnav-card__meta", kind));
  const text = str(item.purpose) || str(item.description) || str(item.text);
  if (text) li.append(el("p", "pnav-card__text", text));
  const address = str(item.address);
  if (address) li.append(el("p", "pnav-card__meta", address));
  const when = [str(item.availability), str(item.cost), str(item.hours)].filter(Boolean).map(dataText).join(" · ");
  if (when) li.append(el("p", "pnav-card__meta", when));
  const channels = dataText(str(item.channels));
  if (channels) li.append(el("p", "pnav-card__meta", channels));
  if (typeof item.distance_km === "number") {
    li.append(el("p", "pnav-card__meta", _("À environ {distance} km",
      { distance: formatNumber(item.distance_km, { maximumFractionDigits: 1 }) })));
  }
  const links = el("p", "pnav-card__links");
  const tel = telHref(phone);
  if (tel) {
    const a = el("a", "fr-link", _("Appeler le {phone}", { phone }));
    a.href = tel;
    links.append(a);
  }
  const smsDigits = sms.replace(/[^\d+]/g, "");
  if (smsDigits) {
    const a = el("a", "fr-link", _("Envoyer un SMS au {number}", { number: sms }));
    a.href = `sms:${smsDigits}`;
    links.append(a);
  }
  const url = safeUrl(item.url || item.website);
  if (url) {
    const a = el("a", "fr-link", _("Site internet"));
    a.href = url;
    a.rel = "noreferrer noopener";
    a.target = "_blank";
    a.title = _("{name} (nouvelle fenêtre)", { name: name || _("Site internet") });
    links.append(a);
  }
  const contact = str(item.contact);
  if (contact && !url) links.append(el("span", "pnav-card__meta", contact));
  if (links.childNodes.length) li.append(links);
  return li;
}

// Returns an <article> for any card-like frame ({type:"card", kind, title, text, items…} or consent_request).
export function renderCard(frame) {
  const kind = str(frame.kind) || str(frame.type);
  const article = el("article", `pnav-card pnav-card--${kind.replace(/[^a-z_-]/gi, "") || "generic"}`);
  const title = cardTitle(frame, kind);
  const headingId = `carte-${Math.random().toString(36).slice(2, 10)}`;
  const heading = el("h3", "pnav-card__title", title);
  heading.id = headingId;
  article.setAttribute("aria-labelledby", headingId);
  article.append(heading);
  for (const key of ["text", "body", "message", "intro"]) {
    const text = str(frame[key]);
    if (text) {
      for (const paragraph of text.split(/\n{2,}/)) article.append(el("p", "pnav-card__text", paragraph));
      break;
    }
  }
  const code = str(frame.code) || str(frame.followup_code);
  if (code) article.append(el("p", "pnav-code", code));
  const items = itemsOf(frame);
  if (items.length) {
    const list = el("ul", "pnav-card__list");
    for (const item of items) list.append(renderItem(item));
    article.append(list);
  }
  if (kind === "evidence_upload") {
    // The operator asked for evidence: the page opens its file picker from this button (chat/static/js/tchat.js).
    const button = el("button", "fr-btn fr-btn--sm pnav-card__attach", T.chooseFiles);
    button.type = "button";
    article.append(button);
  }
  if (Array.isArray(frame.advice)) {
    const list = el("ul", "pnav-card__list");
    for (const tip of frame.advice) if (str(tip)) list.append(el("li", null, str(tip)));
    article.append(list);
  }
  return article;
}

// Short text for screen-reader announcements.
export function cardSummary(frame) {
  const kind = str(frame.kind) || str(frame.type);
  return cardTitle(frame, kind);
}
