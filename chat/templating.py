"""The one Jinja2 environment of pnav (templates/ at the project root, autoescaped)."""

from __future__ import annotations

from starlette.templating import Jinja2Templates

from chat.settings import PROJECT_ROOT

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))
