"""The built wheel, installed without extras into a fresh venv outside the checkout, migrates and serves."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from chat.settings import PROJECT_ROOT
from tests.servers import UNIT, free_port

pytestmark = pytest.mark.slow

# Every module of the packages the wheel ships, imported in the fresh venv: a runtime import of a dev-only library
# (the httpx) fails here.
IMPORT_ALL = """
import importlib, pkgutil, sys
names = []
for top in ("chat", "routing", "operators", "escalation", "audit", "pnav"):
    package = importlib.import_module(top)
    names.append(top)
    names += [m.name for m in pkgutil.walk_packages(package.__path__, top + ".") if ".migrations" not in m.name]
for name in names:
    importlib.import_module(name)
print(len(names), importlib.import_module("chat").__file__)
"""


@dataclass(frozen=True)
class Installed:
    root: Path
    venv: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: the venv's commands first, no PYTHONPATH, nothing of the checkout."""
        base = {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.root), "LANG": "C.UTF-8",
                "PNAV_VAR_DIR": str(self.root / "var")}
        return {**base, **extra}

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=self.root / "elsewhere", env=self.env(**env), capture_output=True,
                              text=True, timeout=timeout * UNIT)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build the sdist, then the wheel from it, once; install it with the runtime lock only (no dev extras), no pip."""
    root = tmp_path_factory.mktemp("wheel")
    (root / "elsewhere").mkdir()
    # The sdist first, then the wheel from it (what a packager does): the wheel holds what the sdist carries, never a
    # stale build/ folder of the checkout.
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"),
                            str(PROJECT_ROOT)], capture_output=True, text=True, timeout=300 * UNIT)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (root / "dist").glob("pnav-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60 * UNIT)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet"]
    for args in (["--require-hashes", "-r", str(PROJECT_ROOT / "requirements.txt")], ["--no-deps", str(wheel)]):
        done = subprocess.run([*pip, *args], capture_output=True, text=True, timeout=300 * UNIT)
        assert done.returncode == 0, done.stderr[-2000:]
    yield Installed(root, venv)


def test_wheel_imports_with_runtime_dependencies_only(installed: Installed) -> None:
    """Every module of the wheel imports in a venv holding only the runtime lock, from site-packages."""
    done = installed.run(str(installed.venv / "bin" / "python"), "-c", IMPORT_ALL, PNAV_ENV="test")
    assert done.returncode == 0, done.stderr[-2000:]
    count, location = done.stdout.split()
    assert int(count) > 50 and "site-packages" in location and str(PROJECT_ROOT) not in location


async def test_wheel_migrates_postgresql(installed: Installed, postgres_url: str) -> None:
    """`pnav migrate` from the wheel brings a new PostgreSQL database to the latest schema."""
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP DATABASE IF EXISTS pnav_wheel")
        await connection.execute("CREATE DATABASE pnav_wheel")
    finally:
        await connection.close()
    url = postgres_url.rsplit("/", 1)[0] + "/pnav_wheel"
    done = await asyncio.to_thread(installed.run, "pnav", "migrate", PNAV_ENV="test", PNAV_DATABASE_URL=url)
    assert done.returncode == 0 and "up to date" in done.stdout, done.stderr[-2000:]
    check = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/pnav_wheel")
    try:
        heads = {row[0] for row in await check.fetch("SELECT version_num FROM alembic_version")}
        tables = await check.fetchval("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    finally:
        await check.close()
    assert heads and tables > 10


def test_wheel_migrates_sqlite_and_serves(installed: Installed) -> None:
    """From the wheel: `pnav migrate` on a new SQLite file, then `pnav serve` answers the home page, its DSFR
    stylesheet and /healthz; development secrets go to PNAV_VAR_DIR, never into site-packages."""
    database = f"sqlite+aiosqlite:///{installed.root / 'new.sqlite3'}"
    done = installed.run("pnav", "migrate", PNAV_DATABASE_URL=database)
    assert done.returncode == 0, done.stderr[-2000:]
    port = free_port()
    log = (installed.root / "serve.log").open("w")
    server = subprocess.Popen(["pnav", "serve", "--port", str(port)], cwd=installed.root / "elsewhere",
                              env=installed.env(PNAV_DATABASE_URL=database), stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        health = _wait_healthy(base)
        assert health == {"status": "ok"} or health.get("status") == "ok", health
        home = httpx.get(f"{base}/", timeout=5 * UNIT)
        stylesheet = re.search(r'href="(/assets/[0-9a-f]+/dsfr/visitor\.min\.css)"', home.text)
        assert home.status_code == 200 and stylesheet, home.text[:2000]
        # The wheel carries the compiled catalogues: a page in Arabic, and its scripts' strings.
        arabic = httpx.get(f"{base}/?lang=ar", timeout=5 * UNIT).text
        assert '<html lang="ar" dir="rtl"' in arabic and "خروج سريع" in arabic
        (texts,) = re.findall(r'data-textes="(/textes/ar-[0-9a-f]+\.json)"', arabic)
        assert httpx.get(f"{base}{texts}", timeout=5 * UNIT).json()["Connecté"] == "متصل"
        css = httpx.get(f"{base}{stylesheet.group(1)}", headers={"accept-encoding": "br"}, timeout=5 * UNIT)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.headers["content-encoding"] == "br" and "immutable" in css.headers["cache-control"]
        assert "Marianne-Regular.latin.woff2" in css.text
        full = httpx.get(f"{base}/static/dsfr/dsfr.min.css", timeout=5 * UNIT)
        assert full.status_code == 200 and len(full.content) > 1e5
        font = httpx.get(f"{base}/static/dsfr/fonts/Marianne-Regular.woff2", timeout=5 * UNIT)
        assert font.status_code == 200
        assert httpx.get(f"{base}/static/dsfr/dsfr.module.min.js", timeout=5 * UNIT).status_code == 404
    finally:
        server.terminate()
        server.wait(30 * UNIT)
        log.close()
    site = next((installed.venv / "lib").glob("python3*/site-packages"))
    assert not (site / "var").exists()
    assert (installed.root / "var" / "dev-secrets.json").exists()
    assert oct((installed.root / "var" / "dev-secrets.json").stat().st_mode & 0o777) == "0o600"


def _wait_healthy(base: str) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 60 * UNIT
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/healthz", timeout=2 * UNIT)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.1 * UNIT)
    raise AssertionError(f"pnav from the wheel did not answer /healthz on {base}")

