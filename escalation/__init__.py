"""Escalation: consented signalements, follow-up codes, emergency and minor flags, sealed identities and
prosecutor-authorised lifting, the hash-chained audit log, retention."""
