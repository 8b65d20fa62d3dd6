"""The one Jinja2 environment of pnav (``pnav/templates/``, shipped inside the wheel, autoescaped)."""

from __future__ import annotations

from importlib.resources import files

from starlette.templating import Jinja2Templates

# The templates live in the ``pnav`` package so that an installed wheel carries them; every top-level package of
# pnav is installed side by side, so the same lookup works in a checkout and in site-packages.
TEMPLATES_DIR = str(files("pnav") / "templates")

templates = Jinja2Templates(directory=TEMPLATES_DIR)
