"""Every package's models, imported once so Alembic and the tests see the whole schema."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from chat.db import Base

MODEL_MODULES = ("chat.models", "chat.attachments.models", "operators.models", "escalation.models",
                 "audit.models")


def metadata() -> MetaData:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base.metadata
