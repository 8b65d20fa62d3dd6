"""The audit trail: an append-only log of what staff and the system did, each entry chained to the previous one by an
HMAC under ``PNAV_AUDIT_KEY`` (a key that is not in the database), with signed checkpoints kept elsewhere.

A base package: ``operators`` and ``escalation`` both write to it, it imports neither. ``trail`` appends and verifies,
``keys`` loads the key and binds it to a session factory, ``checkpoints`` signs and checks heads, ``cli`` is
``pnav audit``.
"""
