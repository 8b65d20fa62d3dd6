"""The ASGI entry point for uvicorn workers: settings read once from the environment."""

import gc

from pnav import collector
from pnav.app import create_app

collector.tune()

app = create_app()
# What is loaded at import (modules, SQLAlchemy mappers and their caches) lives as long as the process: moved out of
# the collector's generations, so a full collection walks only what sockets and messages allocate.
# Tests build apps with create_app() and keep the default collector.
gc.collect()
gc.freeze()
