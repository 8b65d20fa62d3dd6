"""The broker channels of the operators package: names only, so that every module can publish without importing
the console (``operators.consoles``) or its endpoint (``operators.console``)."""

from __future__ import annotations

from chat.models import UNLOCATED

PSYCHOLOGISTS_CHANNEL = "psychologists"


def account_channel(account_id: str) -> str:
    """Per-account channel: every console tab of that person learns of takes, transfers and joins."""
    return f"account:{account_id}"


def staff_channel(conversation_id: str) -> str:
    """The channel of a tchat's staff-only frames: consoles subscribe to it, the visitor's socket never does."""
    return f"staff:{conversation_id}"


def queues_of(force: str) -> tuple[str, ...]:
    """The queues a console of ``force`` follows: its own, and the one of tchats started sans localisation, which
    operators of both forces see (``queue_state`` frames carry ``"force": ""`` for it)."""
    return (force, UNLOCATED)
