"""Deployment tests share the escalation keys fixture (a sealing key pair and a contact key)."""

from tests.escalation.conftest import keys

__all__ = ["keys"]
