// French labels of the enumerations the console displays (API.md keeps the English values).
export const CATEGORIES = {
  sexual_violence: "Violences sexuelles et sexistes",
  domestic_violence: "Violences conjugales",
  discrimination_hate: "Discriminations, haine, cyber-harcèlement",
};
// Short enough for a tab label.
export const SHORT_CATEGORIES = {
  sexual_violence: "Violences sexuelles",
  domestic_violence: "Violences conjugales",
  discrimination_hate: "Discriminations",
};
export const REQUESTERS = {
  victim: "victime", witness: "témoin", relative: "proche", professional: "professionnel·le",
};
export const AUTHORS = {
  visitor: "Personne", operator: "Opérateur·rice", psychologist: "Psychologue", system: "Information",
  supervisor: "Superviseur·e",
};
// Category 3 is the only one closed with an optional subtype (operators/stats/labels.py).
export const SUBTYPE_CATEGORY = "discrimination_hate";
// The visitor's language (issue 22), named in French for the staff; French itself is not shown.
export const LANGUAGES = { en: "anglais", ar: "arabe", es: "espagnol", pt: "portugais", uk: "ukrainien" };

export function languageNote(code) {
  return LANGUAGES[code] ? `écrit en ${LANGUAGES[code]}` : "";
}

export const FORCES = { police: "police nationale", gendarmerie: "gendarmerie nationale" };
// Outcome labels are not repeated here: the page renders them in the close form from operators/stats/labels.py,
// the one source the statistics use too.
export const OUTCOMES = Object.fromEntries(
  [...(document.getElementById("pane-template")?.content.querySelectorAll("select[name=outcome] option") || [])]
    .filter((option) => option.value)
    .map((option) => [option.value, option.textContent.trim()]),
);

export function waited(isoDate, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(isoDate)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")}`;
}

export function clock(isoDate) {
  return new Date(isoDate).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
}
