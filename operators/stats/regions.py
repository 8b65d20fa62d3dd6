"""Département → région (INSEE codes of the 2016 regions), for merging small open-data cells upward."""

from __future__ import annotations

REGION_NAMES = {
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
    "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur", "94": "Corse", "01": "Guadeloupe", "02": "Martinique", "03": "Guyane",
    "04": "La Réunion", "06": "Mayotte",
    # Collectivités d'outre-mer have no INSEE region; they are grouped together, as the COG does for their codes.
    "COM": "Collectivités d'outre-mer",
    # A département code pnav does not know (a data error) still lands in a group rather than being lost.
    "ZZ": "Territoire non reconnu",
    # Tchats started sans localisation whose commune nobody set: their own group at every level below national.
    "ND": "Lieu non indiqué",
}
_DEPARTMENTS = {
    "11": "75 77 78 91 92 93 94 95",
    "24": "18 28 36 37 41 45",
    "27": "21 25 39 58 70 71 89 90",
    "28": "14 27 50 61 76",
    "32": "02 59 60 62 80",
    "44": "08 10 51 52 54 55 57 67 68 88",
    "52": "44 49 53 72 85",
    "53": "22 29 35 56",
    "75": "16 17 19 23 24 33 40 47 64 79 86 87",
    "76": "09 11 12 30 31 32 34 46 48 65 66 81 82",
    "84": "01 03 07 15 26 38 42 43 63 69 73 74",
    "93": "04 05 06 13 83 84",
    "94": "2A 2B",
    "01": "971", "02": "972", "03": "973", "04": "974", "06": "976",
    "COM": "975 977 978 986 987 988 989",
}
REGION_OF = {department: region for region, codes in _DEPARTMENTS.items() for department in codes.split()}
UNKNOWN_REGION = "ZZ"
# The "département" of a tchat started sans localisation (stored with an empty one), and its "region".
UNLOCATED = "ND"
REGION_OF[UNLOCATED] = UNLOCATED


def region_of(department: str) -> str:
    return REGION_OF.get(department, UNKNOWN_REGION)


def departments_of(region: str) -> tuple[str, ...]:
    return tuple(_DEPARTMENTS.get(region, "").split())
