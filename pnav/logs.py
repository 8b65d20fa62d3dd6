"""Logging that never records who the visitors are: no access log, no client address, IPs redacted."""

from __future__ import annotations

import ipaddress
import logging
import logging.config
import re
import traceback
from typing import Any

MASK = "[adresse masquée]"
# IPv4 (dotted quad); and candidates for IPv6: runs of hex digits, colons and dots with at least two colons (an
# optional zone after %). A candidate is masked only when it parses as an address, so that a time (12:30:45) or
# a ratio stays readable while every written form of IPv6 goes, compressed or not (2001:db8::1, ::ffff:1.2.3.4,
# fe80::1%eth0, [::1]:443), tail included.
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?")


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _ipv6(match: re.Match[str]) -> str:
    """Mask the address inside a candidate, whatever clings to it: ``port:2001:db8::1:`` keeps ``port:`` and
    the final colon, never a group of the address."""
    text = match.group(0)
    if len(text) > 200:
        return MASK  # no address is that long: a run of hex and colons this size is masked whole
    colons = [i for i, char in enumerate(text) if char == ":"]
    starts = sorted({0, *colons, *(i + 1 for i in colons)})
    ends = sorted({len(text), *colons, *(i + 1 for i in colons), *(i for i, c in enumerate(text) if c == ".")},
                  reverse=True)
    # The longest address inside (``:::ffff:192.0.2.1`` holds ``::`` too, but masking that would leave the rest).
    spans = sorted(((start, end) for start in starts for end in ends if end - start >= 2),
                   key=lambda span: (span[0] - span[1], span[0]))
    for start, end in spans:
        if _is_ipv6(text[start:end]):
            return text[:start] + MASK + _ipv6_rest(text[end:])
    return text


def _ipv6_rest(text: str) -> str:
    """What follows a masked address in the same candidate (``2001:db8::1:fe80::2`` is two)."""
    match = _IPV6.fullmatch(text)
    return _ipv6(match) if match else text


def redact(text: str) -> str:
    return _IPV4.sub(MASK, _IPV6.sub(_ipv6, text))


class RedactAddresses(logging.Filter):
    """Defence in depth: even a library's message, or a traceback's text, cannot put an address in our logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            # The formatter keeps a text it finds in exc_text: give it the redacted one (an exception's message
            # often quotes the peer: "Connection reset by 2001:db8::7").
            formatted = record.exc_text or "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(formatted)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
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
