"""``pnav opendata export --from DATE --to DATE --out DIR [--threshold 11]``: the protected open-data files."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from string import Template

from sqlalchemy.exc import OperationalError, ProgrammingError

from chat.db import create_cli_engine, session_factory
from chat.settings import ConfigurationError, Settings
from operators.stats import feedback, period, publication, records

PROG = "pnav opendata"
README_TEMPLATE = Path(__file__).resolve().parent / "reuse_readme.md"
LICENCE_NAME = "Licence Ouverte / Open Licence version 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
# Below 5 a published count could name a handful of people in a small town; 11 is the default of the issue
# and of the usual French statistical secrecy practice for sensitive counts.
MIN_THRESHOLD = 5


class UsageError(Exception):
    """A mistake on the command line; its French message is printed on one line."""


# argparse speaks English; the few messages a person may meet here are said in French.
_ARGPARSE_FRENCH = (
    ("the following arguments are required:", "arguments obligatoires manquants :"),
    ("unrecognized arguments:", "arguments inconnus :"),
    ("invalid int value:", "nombre entier attendu, reçu"),
    ("invalid choice:", "commande inconnue :"),
    ("expected one argument", "une valeur est attendue"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        for english, french in _ARGPARSE_FRENCH:
            message = message.replace(english, french)
        raise UsageError(message.replace("command", "export"))


def _parser() -> _Parser:
    parser = _Parser(prog=PROG, description="Export des données ouvertes agrégées et protégées.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    export = sub.add_parser("export", help="écrire les fichiers CSV, le README et la licence dans un dossier")
    export.add_argument("--from", dest="first", required=True, help="premier jour inclus (AAAA-MM-JJ)")
    export.add_argument("--to", dest="last", required=True, help="dernier jour inclus (AAAA-MM-JJ)")
    export.add_argument("--out", required=True, type=Path, help="dossier de destination (créé au besoin)")
    export.add_argument("--threshold", type=int, default=publication.DEFAULT_THRESHOLD,
                        help="plus petit nombre publié (11 par défaut)")
    return parser


def write_csv(path: Path, fields: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_files(out: Path, tchats: Sequence[publication.OpenTchat], chosen: period.Period, threshold: int,
                answers: Sequence[feedback.Answer] = ()) -> dict[str, int]:
    """Write the files; returns the number of rows of each CSV."""
    out.mkdir(parents=True, exist_ok=True)
    counts = publication.count_rows(tchats, chosen, threshold)
    waits = publication.wait_rows(tchats, chosen, threshold)
    opinions = feedback.feedback_rows(answers, chosen, threshold)
    spoken = publication.language_rows(tchats, chosen, threshold)
    write_csv(out / "tchats.csv", publication.COUNT_FIELDS, counts)
    write_csv(out / "attentes.csv", publication.WAIT_FIELDS, waits)
    write_csv(out / "avis.csv", feedback.FEEDBACK_FIELDS, opinions)
    write_csv(out / "langues.csv", publication.LANGUAGE_FIELDS, spoken)
    readme = Template(README_TEMPLATE.read_text(encoding="utf-8")).substitute(
        first=chosen.first.isoformat(), last=chosen.last.isoformat(), threshold=threshold,
        generated=datetime.now(UTC).date().isoformat(), count_rows=len(counts), wait_rows=len(waits),
        feedback_rows=len(opinions), language_rows=len(spoken),
    )
    (out / "README.md").write_text(readme, encoding="utf-8")
    (out / "LICENCE.txt").write_text(
        f"Ces données sont publiées sous la {LICENCE_NAME} (Etalab).\nTexte de la licence : {LICENCE_URL}\n",
        encoding="utf-8")
    return {"tchats.csv": len(counts), "attentes.csv": len(waits), "avis.csv": len(opinions),
            "langues.csv": len(spoken)}


async def export(database_url: str, chosen: period.Period, out: Path, threshold: int) -> dict[str, int]:
    engine = create_cli_engine(database_url)
    try:
        sessions = session_factory(engine)
        loaded = await records.load(sessions, chosen)
        answers = await feedback.load(sessions, chosen)
    finally:
        await engine.dispose()
    return write_files(out, [publication.open_tchat(r) for r in loaded], chosen, threshold, answers)


def main_opendata(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.threshold < MIN_THRESHOLD:
            raise UsageError(f"le seuil doit être d'au moins {MIN_THRESHOLD}")
        chosen = period.parse(args.first, args.last, max_days=None)
        written = asyncio.run(export(Settings.from_env().database_url, chosen, args.out, args.threshold))
    except (UsageError, period.PeriodError) as exc:
        print(f"{PROG} : {exc}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(f"{PROG} : configuration : {exc}", file=sys.stderr)
        return 1
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        print(f"{PROG} : base de données inaccessible ou non migrée (lancez « pnav migrate ») : {reason}",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG} : écriture impossible : {exc}", file=sys.stderr)
        return 1
    summary = ", ".join(f"{name} ({n} lignes)" for name, n in written.items())
    print(f"Données ouvertes du {chosen.first.isoformat()} au {chosen.last.isoformat()} écrites dans {args.out} : "
          f"{summary}, README.md, LICENCE.txt.")
    return 0
