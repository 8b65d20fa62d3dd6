"""The static files pnav serves, built from the pinned npm package into the package at install (``make assets``).

The one place that decides which files of the design system reach a browser (no DSFR script, no favicon with the
State's logo, no analytics module). Into ``chat/static/dsfr/``:

- ``dsfr.min.css``, the compiled stylesheet as published, and the fonts and icons it refers to: the staff pages
  (console, administration), which use much of the system;
- ``visitor.min.css``: the same stylesheet without the rules no visitor page can match (``chat/css_subset.py``,
  from the classes of the visitor templates and scripts: 717 KB → ~110 KB, ~13 KB with brotli), its Marianne faces
  split into a French subset and the rest by ``unicode-range`` (``chat/fonts.py``), and the icons it refers to;
- ``visitor-classes.txt`` (the classes it was cut for: a test checks that the templates use no other),
  ``LICENSE.md``, ``VERSION``.

Then into ``chat/static/built/``, each named by the SHA-256 of its original: a minified copy of our own scripts and
stylesheet (esbuild, pinned in ``package.json``; per file, imports left as they are), and a brotli and a gzip
encoding of every compressible file served (``chat/static_files.py`` serves them, and only while the original
still has that hash). Everything is copied into the package so that the wheel carries it and an
installed pnav never looks for ``node_modules/``. Run ``python -m chat.assets`` with the development dependencies
(fontTools, brotli) after ``npm ci``; the Makefile does it in ``make install`` and ``make dist``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from chat.css_subset import classes_in, subset

SOURCE = Path(__file__).resolve().parent.parent / "node_modules" / "@gouvfr" / "dsfr"
STATIC_DIR = Path(__file__).resolve().parent / "static"
TARGET = STATIC_DIR / "dsfr"
BUILT = STATIC_DIR / "built"
ESBUILD = SOURCE.parent.parent / ".bin" / "esbuild"
TEMPLATES = Path(__file__).resolve().parent.parent / "pnav" / "templates"
STYLESHEET = "dsfr.min.css"
VISITOR_STYLESHEET = "visitor.min.css"
VISITOR_CLASSES = "visitor-classes.txt"
# What may be served from TARGET: the stylesheets and the kinds of file they refer to, by name.
ALLOWED = re.compile(r"^((dsfr|visitor)\.min\.css|fonts/[A-Za-z_-]+(\.latin|\.rest)?\.woff2?"
                     r"|icons/[a-z-]+/[a-z0-9-]+\.svg)$")
# What may be served from STATIC_DIR as pnav's own files.
OWN_ALLOWED = re.compile(r"^(js/[a-z0-9_-]+\.js|pnav\.css)$")
_URL = re.compile(r"url\((?!data:)['\"]?([^'\")]+)['\"]?\)")
_EXTENDS_VISITOR = re.compile(r"""\{%-?\s*extends\s+["']visitor\.html["']""")
_INCLUDE = re.compile(r"""\{%-?\s*include\s+["']([^"']+)["']""")


def compressible(path: str) -> bool:
    return path.endswith((".css", ".js", ".svg"))


def referenced(css: str) -> list[str]:
    """The relative files a stylesheet refers to (``url(fonts/…)``, ``url(icons/…)``), inline data left out."""
    return sorted({url for url in _URL.findall(css) if ALLOWED.match(url)})


def visitor_sources(templates: Path = TEMPLATES, static: Path = STATIC_DIR) -> list[Path]:
    """What the visitor pages are made of: base and visitor layouts, the templates extending the latter and what
    they include, our scripts and our stylesheet."""
    pages = [templates / "base.html", templates / "visitor.html"]
    pages += [path for path in sorted(templates.glob("*.html")) if _EXTENDS_VISITOR.search(path.read_text("utf-8"))]
    found: list[Path] = []
    while pages:
        page = pages.pop()
        if page in found or not page.is_file():
            continue
        found.append(page)
        pages += [templates / name for name in _INCLUDE.findall(page.read_text("utf-8"))]
    return [*sorted(found), *sorted((static / "js").glob("*.js")), static / "pnav.css"]


def visitor_classes(sources: Iterable[Path] | None = None) -> set[str]:
    """The DSFR classes the visitor pages may use (every ``fr-…`` token of their sources)."""
    return classes_in(path.read_text("utf-8") for path in (visitor_sources() if sources is None else sources))


def _copy_published(dist: Path, target: Path) -> list[str]:
    css = (dist / STYLESHEET).read_text(encoding="utf-8")
    files = [STYLESHEET, *referenced(css)]
    missing = [name for name in files if not (dist / name).is_file()]
    if missing:
        raise FileNotFoundError(f"the DSFR package lacks {', '.join(missing)}")
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / name, target / name)
    return files


def _build_visitor(dist: Path, target: Path, used: set[str]) -> list[str]:
    from chat import fonts  # fontTools: a development dependency, needed by this install step only

    css = subset((dist / STYLESHEET).read_text(encoding="utf-8"), used)
    ranges: dict[str, str] = {}
    written = [VISITOR_STYLESHEET]
    for name in referenced(css):
        if name.startswith("fonts/Marianne") and name.endswith(".woff2"):
            base = name.removesuffix(".woff2")
            latin, rest, ranges[base] = fonts.split(dist / name)
            (target / f"{base}.latin.woff2").write_bytes(latin)
            (target / f"{base}.rest.woff2").write_bytes(rest)
            written += [f"{base}.latin.woff2", f"{base}.rest.woff2"]
    css = fonts.rewrite_faces(css, ranges)
    (target / VISITOR_STYLESHEET).write_text(css, encoding="utf-8")
    for name in referenced(css):  # the Spectral faces and the icons of the rules kept
        if not (target / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist / name, target / name)
            written.append(name)
    (target / VISITOR_CLASSES).write_text("".join(f"{name}\n" for name in sorted(used)), encoding="utf-8")
    return written


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _minify(path: Path) -> bytes:
    """Our script or stylesheet minified by esbuild (whitespace, comments, local names; imports and exports kept)."""
    done = subprocess.run([str(ESBUILD), str(path), "--minify", "--log-level=warning"], capture_output=True,  # noqa: S603 (our files, the pinned esbuild)
                          check=True, timeout=60)
    return done.stdout


def _derive_all(dsfr: Iterable[Path], own: Iterable[Path], into: Path) -> None:
    import brotli  # a development dependency, needed by this install step only

    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    bodies = [path.read_bytes() for path in dsfr]
    for path in own:
        minified = _minify(path)
        (into / f"{sha256(path.read_bytes())}.min").write_bytes(minified)
        bodies.append(minified)
    for body in bodies:
        digest = sha256(body)
        (into / f"{digest}.br").write_bytes(brotli.compress(body, quality=11))
        (into / f"{digest}.gz").write_bytes(gzip.compress(body, compresslevel=9, mtime=0))


def own_files(static: Path = STATIC_DIR) -> list[Path]:
    """Our scripts and stylesheet, as served (``OWN_ALLOWED``)."""
    return [path for path in sorted(static.rglob("*")) if OWN_ALLOWED.match(path.relative_to(static).as_posix())]


def build(source: Path = SOURCE, target: Path = TARGET, built: Path = BUILT) -> list[str]:
    """Replace ``target`` and ``built`` (module docstring); returns the DSFR files written. Fails when the npm
    package is missing or a referenced file is not in it."""
    dist = source / "dist"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    files = _copy_published(dist, target) + _build_visitor(dist, target, visitor_classes())
    shutil.copyfile(source / "LICENSE.md", target / "LICENSE.md")
    version = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
    (target / "VERSION").write_text(f"@gouvfr/dsfr {version}\n", encoding="utf-8")
    _derive_all([target / name for name in files if compressible(name)], own_files(), built)
    return files


def main() -> int:
    try:
        files = build()
    except (OSError, KeyError, ValueError, ImportError, subprocess.CalledProcessError) as exc:
        print(f"pnav assets: cannot build the static files ({exc}); run `npm ci` and `make install` first",
              file=sys.stderr)
        return 1
    print(f"pnav assets: {len(files)} DSFR files written into {TARGET}, minified and compressed copies in {BUILT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
