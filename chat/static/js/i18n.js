// The scripts' strings in the page's language. French is the source: every visible string is written
// _("French text") (extracted by `make messages` into pnav/locales/js.pot). In another language the page names its
// catalogue (made by `make translations` from js.po, served as /textes/<language>-<digest>.json and cached for
// good): this module fetches it before any module that imports it runs (top-level await). Without it (no network
// on a reload), the scripts speak French rather than nothing.
// Values go in braces: _("Vous êtes {rank}e dans la file", { rank }). No plural forms: sentences are written so that
// a number stands alone ("Communes trouvées : 3"), which reads well in every language.

async function load() {
  const url = document.body.dataset.textes;
  if (!url) return {};
  try {
    const response = await fetch(url, { credentials: "omit" });
    const data = response.ok ? await response.json() : {};
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

const messages = await load();

export const LANG = document.documentElement.lang || "fr";
export const LOCALE = document.body.dataset.locale || "fr-FR";

export function _(text, values) {
  const found = Object.prototype.hasOwnProperty.call(messages, text) ? messages[text] : "";
  const translated = typeof found === "string" && found ? found : text;
  if (!values) return translated;
  return translated.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

// Marks a French string for extraction where it is listed; it is translated where it is shown, with _(value).
export function N_(text) {
  return text;
}

// Numbers in the page's language (Latin digits in Arabic too, like the phone numbers beside them).
export function number(n, options) {
  return Number(n).toLocaleString(LOCALE, options);
}
