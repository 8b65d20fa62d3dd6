"""The ASGI entry point for uvicorn workers: settings read once from the environment."""

from pnav.app import create_app

app = create_app()
