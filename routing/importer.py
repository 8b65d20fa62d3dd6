"""Rebuild `routing/data/` from the official files: `pnav data import` and `python -m routing.importer`.

The sources directory holds files in the formats described in routing/data/ATTRIBUTION.md (the names of
the shared data set). The official competence CSV (`;`-separated, with the GN brigade of every commune),
a newer COG commune file and a newer directory extract can each replace the matching file of that folder.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from routing.build import Compact, Row, Sources, build
from routing.data import DATA_DIR, FILES, reset_cache
from routing.sources import (
    HELPLINE_COLUMNS,
    read_chef_lieux,
    read_cog_communes,
    read_department_names,
    read_directory,
    read_helplines,
    read_official_competence,
    read_points,
    read_zpn_competence,
)

SOURCE_NAMES = {
    "communes": "communes_cog2026.csv",
    "competence": "competence_zpn_communes.csv",
    "points": "communes_coordonnees.csv",
    "forces": "forces_points_accueil_annuaire2020.csv",
    "support": "aide_victimes_acces_droit_annuaire2020.csv",
    "departments": "departements.csv",
    "helplines": "numeros_nationaux_affichage.csv",
}
COLUMNS = {
    "communes": ("insee", "name", "department", "population", "force", "rule", "pn_service", "pn_approx",
                 "gn_service", "gn_approx", "lat", "lon"),
    "postal_codes": ("postal_code", "communes"),
    "services": ("id", "name", "force", "address", "phone", "insee"),
    "support": ("id", "kind", "name", "address", "phone", "contact", "lat", "lon"),
    "helplines": HELPLINE_COLUMNS,
    "departments": ("code", "name"),
}


def _write(path: Path, columns: Sequence[str], rows: Sequence[Row]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)  # mtime 0: the same inputs give the same bytes
    path.write_bytes(data)


def import_data(
    competence_csv: Path | None,
    communes_csv: Path | None,
    annuaire_csv: Path | None,
    *,
    sources_dir: Path,
    out_dir: Path = DATA_DIR,
) -> dict[str, int]:
    """Rebuild the compact files in out_dir; returns counts for the report.

    competence_csv: the official data.gouv.fr competence file (`;`), else the PN-only transcription of sources_dir.
    communes_csv: a COG commune file; annuaire_csv: a directory extract of commissariats and brigades.
    """
    def source(key: str, override: Path | None = None) -> Path:
        return override if override is not None else sources_dir / SOURCE_NAMES[key]

    competence = (
        read_official_competence(competence_csv) if competence_csv is not None
        else read_zpn_competence(source("competence"))
    )
    sources = Sources(
        communes=read_cog_communes(source("communes", communes_csv)),
        competence=competence,
        points=read_points(source("points")),
        forces=read_directory(source("forces", annuaire_csv)),
        support=read_directory(source("support")),
        chef_lieux=read_chef_lieux(source("departments")),
        helplines=read_helplines(source("helplines")),
        departments=read_department_names(source("departments")),
    )
    compact: Compact = build(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    for key, columns in COLUMNS.items():
        _write(out_dir / FILES[key], columns, getattr(compact, key))
    if out_dir == DATA_DIR:
        reset_cache()
    stats = dict(compact.stats)
    stats.update({f"rows_{key}": len(getattr(compact, key)) for key in COLUMNS})
    return stats


def main_import(argv: list[str]) -> int:
    """Command line of `pnav data import`; returns the exit status."""
    parser = argparse.ArgumentParser(prog="pnav data import", description=__doc__)
    parser.add_argument("--sources", type=Path, required=True, help="folder of source files (see ATTRIBUTION.md)")
    parser.add_argument("--competence", type=Path, help="official competence CSV (';'-separated, data.gouv.fr)")
    parser.add_argument("--communes", type=Path, help="COG commune file (communes_cog2026.csv format)")
    parser.add_argument("--annuaire", type=Path, help="directory of commissariats and brigades")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output folder (default {DATA_DIR})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        stats = import_data(args.competence, args.communes, args.annuaire, sources_dir=args.sources, out_dir=args.out)
    except (OSError, KeyError, ValueError) as error:
        print(f"pnav data import: cannot import ({type(error).__name__}: {error})", file=sys.stderr)
        return 1
    for key, value in sorted(stats.items()):
        print(f"{key}: {value}")
    print(f"written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_import(sys.argv[1:]))
