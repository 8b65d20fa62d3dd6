"""``pnav opendata export`` end to end on a database, and its one-line French errors."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.db import create_engine, session_factory
from operators.stats.opendata import main_opendata
from operators.stats.period import local_day
from tests.conftest import migrated, wipe
from tests.stats.month import generate, store


@pytest.fixture
async def filled(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """The generated month stored in the database the CLI reads; yields the number of April tchats."""
    migrated(db_url)
    await wipe(db_url)
    engine = create_engine(db_url)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    month = generate()
    await store(sessions, month)
    await engine.dispose()
    monkeypatch.setenv("PNAV_DATABASE_URL", db_url)
    yield sum(1 for t in month if local_day(t.created_at).month == 4)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


async def test_export_writes_protected_files(filled: int, tmp_path: Path) -> None:
    """The export writes both CSV, the README and the licence; counts are ≥ 11 and add up to every tchat."""
    import asyncio

    out = tmp_path / "donnees"
    code = await asyncio.to_thread(main_opendata, ["export", "--from", "2026-04-01", "--to", "2026-04-30",
                                                   "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"tchats.csv", "attentes.csv", "avis.csv", "langues.csv", "README.md",
                                              "LICENCE.txt"}
    spoken = _rows(out / "langues.csv")
    assert min(int(r["nombre_tchats"]) for r in spoken) >= 11
    assert sum(int(r["nombre_tchats"]) for r in spoken) == filled
    counts = _rows(out / "tchats.csv")
    assert min(int(r["nombre_tchats"]) for r in counts) >= 11
    assert sum(int(r["nombre_tchats"]) for r in counts) == filled
    assert _rows(out / "attentes.csv")
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "Licence Ouverte" in readme and "$" not in readme and "2026-04-30" in readme
    assert "etalab.gouv.fr" in (out / "LICENCE.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["export", "--from", "2026-04-31", "--to", "2026-05-01", "--out", "x"], "date valide"),
    (["export", "--from", "2026-05-02", "--to", "2026-05-01", "--out", "x"], "précéder"),
    (["export", "--from", "2026-05-01", "--to", "2026-05-02", "--out", "x", "--threshold", "2"], "seuil"),
    (["export", "--from", "2026-05-01"], "obligatoires"),
    ([], "obligatoires"),
])
def test_user_errors_are_one_french_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistake on the command line exits 2 with one French line and no traceback."""
    assert main_opendata(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
