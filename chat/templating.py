"""The one Jinja2 environment of pnav (``pnav/templates/``, shipped inside the wheel, autoescaped).

It carries Jinja2's i18n extension (``chat/languages.py``): the visitor's templates mark their French text with
``{% trans %}`` and ``_()``, and each page renders in the language of its request.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.templating import Jinja2Templates

from chat import languages
from chat.static_files import asset_url

# The templates live in the ``pnav`` package so that an installed wheel carries them; every top-level package of
# pnav is installed side by side, so the same lookup works in a checkout and in site-packages.
TEMPLATES_DIR = str(files("pnav") / "templates")

templates = Jinja2Templates(directory=TEMPLATES_DIR)
languages.install(templates.env)
# {{ asset("js/tchat.js") }}: the content-versioned URL of a static file (chat/static_files.py).
templates.env.globals["asset"] = asset_url
