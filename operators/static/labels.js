// French labels of the enumerations the console displays (API.md keeps the English values).
export const CATEGORIES = {
  sexual_violence: "Violences sexuelles et sexistes",
  domestic_violence: "Violences conjugales",
  discrimination_hate: "Discriminations, haine, cyber-harcèlement",
};
export const REQUESTERS = {
  victim: "victime", witness: "témoin", relative: "proche", professional: "professionnel·le",
};
export const AUTHORS = {
  visitor: "Personne", operator: "Opérateur·rice", psychologist: "Psychologue", system: "Information",
};
// Category 3 is the only one closed with an optional subtype (operators/stats/labels.py).
export const SUBTYPE_CATEGORY = "discrimination_hate";
export const FORCES = { police: "police nationale", gendarmerie: "gendarmerie nationale" };
export const OUTCOMES = {
  complaint_oriented: "orientée vers un service d'enquête",
  association_oriented: "orientée vers une association",
  information_given: "information donnée",
  witness_informed: "témoin informé",
  visitor_left: "la personne est partie",
  other: "autre",
};

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
