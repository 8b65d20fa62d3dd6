"""The pieces of chat.attachments on their own: recognising content, default names, sealing bound to the row, the key
in production, the migration."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from chat.attachments import checks, config, sealing
from chat.attachments.store import display_name
from chat.db import create_cli_engine
from chat.settings import ConfigurationError, Settings
from pnav.registry import metadata
from tests.escalation.test_migration import _tables_named
from tests.evidence import HOSTILE, pdf_document, photo_with_metadata, screenshot_png, webp_image


def test_content_decides_not_the_name() -> None:
    """JPEG, PNG, WebP and PDF are recognised by their first bytes; everything of HOSTILE is refused as expected."""
    assert [checks.check(data, 10**7).media_type for data in (photo_with_metadata(), screenshot_png(), webp_image(),
                                                                pdf_document())] == [
        "image/jpeg", "image/png", "image/webp", "application/pdf"]
    for key, (_name, data, _type, status, code) in HOSTILE.items():
        with pytest.raises(checks.Refused) as refused:
            checks.check(data, 50_000_000)
        assert (refused.value.status, refused.value.code) == (status, code), key


def test_pixel_bound_is_checked_from_the_header() -> None:
    """An image over the pixel bound is refused as too large; one under it gets a bounded preview."""
    with pytest.raises(checks.Refused) as refused:
        checks.check(photo_with_metadata(400, 300), 100_000)
    assert refused.value.code == "attachment_too_large"
    accepted = checks.check(photo_with_metadata(2400, 1800), 10**7)
    assert accepted.preview is not None and (accepted.width, accepted.height) == (2400, 1800)


def test_default_and_kept_names() -> None:
    """« capture-N.ext » by default; a kept name loses its path and control characters, and takes the extension
    its content proves."""
    photo = checks.check(photo_with_metadata(), 10**7)
    pdf = checks.check(pdf_document(), 10**7)
    assert display_name(photo, 3, None) == "capture-3.jpg" and display_name(pdf, 4, None) == "document-4.pdf"
    assert display_name(photo, 1, "C:\\Users\\camille\\Photos\\IMG_2031.HEIC") == "IMG_2031.jpg"
    assert display_name(photo, 1, "../../etc/pass\x00wd.png") == "passwd.jpg"
    assert display_name(photo, 2, "...") == "capture-2.jpg"
    assert len(display_name(photo, 1, "x" * 500 + ".jpg")) == 100


def test_sealing_is_bound_to_the_row_and_kind() -> None:
    """A ciphertext opens only for its own attachment and kind, with the right key."""
    key = b"k" * 32
    blob = sealing.seal(key, b"original bytes", "a1", "original")
    assert sealing.unseal(key, blob, "a1", "original") == b"original bytes"
    for args in ((key, blob, "a2", "original"), (key, blob, "a1", "preview"), (b"j" * 32, blob, "a1", "original")):
        with pytest.raises(sealing.UnsealFailed):
            sealing.unseal(*args)


def test_key_is_required_in_production() -> None:
    """Production refuses to start without PNAV_ATTACHMENT_KEY or with a malformed one; the test key is fixed."""
    with pytest.raises(ConfigurationError):
        config.load(Settings(environment="production", secret_key="s" * 40))
    with pytest.raises(ConfigurationError):
        config.load(Settings(environment="production", secret_key="s" * 40, extra={"PNAV_ATTACHMENT_KEY": "short"}))
    good = "A" * 43
    assert len(config.load(Settings(environment="production", extra={"PNAV_ATTACHMENT_KEY": good})).key) == 32
    assert config.load(Settings(environment="test")).key == config.load(Settings(environment="test")).key
    assert config.load(Settings(environment="test")).uploads_per_minute == 0


async def test_migration_matches_models(db_url: str) -> None:
    """The attachments migration creates exactly the tables the models describe, on both backends."""
    own = {"attachments", "attachment_blobs"}
    engine = create_cli_engine(db_url)

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata()) if _tables_named(d) & own]

    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert diffs == []
