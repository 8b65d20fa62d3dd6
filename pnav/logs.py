"""Logging that never records who the visitors are: no access log, no client address, IPs redacted."""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

# IPv4, and IPv6 written with at least two colon groups (so times like 12:30 stay readable).
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}\b|::1\b")


def redact(text: str) -> str:
    return _IP.sub("[adresse masquée]", text)


class RedactAddresses(logging.Filter):
    """Defence in depth: even a library's message cannot put an address in our logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def config(level: str = "INFO") -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactAddresses}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn.error logs every WebSocket handshake with the peer's address at INFO: keep warnings only.
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


def setup(level: str = "INFO") -> None:
    logging.config.dictConfig(config(level))
