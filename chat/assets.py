"""The DSFR files pnav serves, copied from the pinned npm package into ``chat/static/dsfr/`` (``make assets``).

The one place that decides which files of the design system reach a browser: the compiled stylesheet and the
fonts and icons it refers to, nothing else (no script, no favicon with the State's logo, no analytics module). They
are copied into the package so that the wheel carries them and an installed pnav never looks for ``node_modules/``.
Run ``python -m chat.assets`` after ``npm ci``; the Makefile does it in ``make install`` and ``make dist``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "node_modules" / "@gouvfr" / "dsfr"
TARGET = Path(__file__).resolve().parent / "static" / "dsfr"
STYLESHEET = "dsfr.min.css"
# What may be served from TARGET: the stylesheet and the kinds of file it refers to, by name.
ALLOWED = re.compile(r"^(dsfr\.min\.css|fonts/[A-Za-z_-]+\.woff2?|icons/[a-z-]+/[a-z0-9-]+\.svg)$")
_URL = re.compile(r"url\((?!data:)['\"]?([^'\")]+)['\"]?\)")


def referenced(css: str) -> list[str]:
    """The relative files a stylesheet refers to (``url(fonts/…)``, ``url(icons/…)``), inline data left out."""
    return sorted({url for url in _URL.findall(css) if ALLOWED.match(url)})


def copy(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    """Replace ``target`` with the stylesheet, the files it refers to, the licence and the version; returns the
    files copied. Fails when the npm package is missing or a referenced file is not in it."""
    dist = source / "dist"
    css = (dist / STYLESHEET).read_text(encoding="utf-8")
    files = [STYLESHEET, *referenced(css)]
    missing = [name for name in files if not (dist / name).is_file()]
    if missing:
        raise FileNotFoundError(f"the DSFR package lacks {', '.join(missing)}")
    if target.exists():
        shutil.rmtree(target)
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / name, target / name)
    shutil.copyfile(source / "LICENSE.md", target / "LICENSE.md")
    version = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
    (target / "VERSION").write_text(f"@gouvfr/dsfr {version}\n", encoding="utf-8")
    return files


def main() -> int:
    try:
        files = copy()
    except (OSError, KeyError, ValueError) as exc:
        print(f"pnav assets: cannot copy the DSFR files ({exc}); run `npm ci` first", file=sys.stderr)
        return 1
    print(f"pnav assets: {len(files)} DSFR files copied into {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
