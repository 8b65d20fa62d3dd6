"""Evidence in the tchat: screenshots, photos and PDF documents a visitor attaches, each with a receipt.

The public surface for other packages: ``store`` (the rows: add, list, find, purge), ``sealing`` and ``blobs``
(the sealed originals and previews), ``checks`` (what is accepted, by content), ``config`` (key and limits),
``web`` (``POST /api/v1/attachments``, the frames) — the operators package serves previews to staff, escalation
hands originals to the local service with the visitor's consent.
"""
