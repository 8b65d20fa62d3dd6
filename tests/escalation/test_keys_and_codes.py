"""Sealing, contact encryption, follow-up codes and the configuration's refusal to run without secrets."""

from __future__ import annotations

import asyncio
import base64
import secrets
from pathlib import Path

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat import settings as chat_settings
from chat.settings import ConfigurationError, Settings
from escalation import codes, config, crypto
from pnav.app import create_app
from tests.servers import free_port


def test_sealed_address_opens_only_with_private_key_and_its_row() -> None:
    """A sealed value opens with the private key for its own conversation, not for another or with another key."""
    private_pem, public_pem = crypto.generate_keypair()
    blob = crypto.seal(public_pem, b"203.0.113.7", "conv1")
    assert b"203.0.113.7" not in blob
    assert crypto.unseal(private_pem, blob, "conv1") == b"203.0.113.7"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(private_pem, blob, "conv2")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(crypto.generate_keypair()[0], blob, "conv1")
    assert crypto.seal(public_pem, b"203.0.113.7", "conv1") != blob  # fresh ephemeral key each time


def test_contact_details_bound_to_their_row() -> None:
    """Contact ciphertexts decrypt with the key for their own signalement only."""
    key = secrets.token_bytes(32)
    blob = crypto.encrypt_contact(key, b'{"phone":"0612345678"}', "s1")
    assert crypto.decrypt_contact(key, blob, "s1") == b'{"phone":"0612345678"}'
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt_contact(key, blob, "s2")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt_contact(secrets.token_bytes(32), blob, "s1")


def test_followup_codes_are_long_readable_and_forgiving() -> None:
    """Codes carry 100 bits in Crockford groups; typing them in lower case, with O for 0 or I for 1, still works."""
    code = codes.new_code()
    assert len(code) == 24 and code.count("-") == 4
    assert codes.LENGTH * 5 >= 80
    typed = code.lower().replace("0", "o").replace("1", "i").replace("-", " ")
    assert codes.hash_code(typed) == codes.hash_code(code)
    assert codes.normalise("ABCD") is None and codes.normalise("U" * 20) is None
    assert len({codes.new_code() for _ in range(1000)}) == 1000


def test_production_requires_keys(tmp_path: Path) -> None:
    """In production the contact key and the sealing public key are required, and a private key is refused."""
    base = {"PNAV_CONTACT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
    production = Settings(environment="production", secret_key="s" * 40, extra=base)
    with pytest.raises(ConfigurationError, match="PNAV_SEAL_PUBLIC_KEY"):
        config.load(production)
    private_pem, public_pem = crypto.generate_keypair()
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "private.pem").write_bytes(private_pem)
    (tmp_path / "public.pem").write_bytes(public_pem)
    with pytest.raises(ConfigurationError, match="private key"):
        config.load(Settings(environment="production", secret_key="s" * 40,
                             extra={**base, "PNAV_SEAL_PUBLIC_KEY": str(tmp_path / "offline" / "private.pem")}))
    with pytest.raises(ConfigurationError, match="PNAV_CONTACT_KEY"):
        config.load(Settings(environment="production", secret_key="s" * 40,
                             extra={"PNAV_SEAL_PUBLIC_KEY": str(tmp_path / "public.pem")}))
    loaded = config.load(Settings(environment="production", secret_key="s" * 40,
                                  extra={**base, "PNAV_SEAL_PUBLIC_KEY": str(tmp_path / "public.pem")}))
    assert loaded.seal_public_key == public_pem and loaded.sealed_days == config.DEFAULT_SEALED_DAYS


def test_app_refuses_to_start_in_production_without_keys(tmp_path: Path) -> None:
    """The server's startup fails with the reason when the escalation secrets are missing in production."""
    settings = Settings(environment="production", secret_key="s" * 40,
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), lifespan="on",
                                           log_level="critical"))
    with pytest.raises(SystemExit) as exited:
        asyncio.run(server.serve())
    assert exited.value.code != 0 and not server.started


def _production(tmp_path: Path, **extra: str) -> Settings:
    private, public = crypto.generate_keypair()
    (tmp_path / "keys").mkdir(exist_ok=True)
    (tmp_path / "keys" / "public.pem").write_bytes(public)
    (tmp_path / "offline.pem").write_bytes(private)
    env = {"PNAV_ENV": "production", "PNAV_SECRET_KEY": "p" * 40,
           "PNAV_CONTACT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
           "PNAV_SEAL_PUBLIC_KEY": str(tmp_path / "keys" / "public.pem"), **extra}
    return Settings.from_env(env)


def test_production_refuses_a_readable_private_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production starts with the public key alone, and refuses when a sealing private key is readable: next to
    the public key, in the var directory, in a PNAV_ variable, or in a file a PNAV_ variable names."""
    for folder in ("var", "cwd"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(chat_settings, "VAR_DIR", tmp_path / "var")
    config.load(_production(tmp_path))
    offline = (tmp_path / "offline.pem").read_bytes()
    for place in (tmp_path / "keys" / "private.pem", tmp_path / "var" / "dev-seal-private.pem",
                  tmp_path / "cwd" / "seal.key"):
        place.write_bytes(offline)
        with pytest.raises(ConfigurationError, match=str(place)):
            config.load(_production(tmp_path))
        place.unlink()
    with pytest.raises(ConfigurationError, match="PNAV_SEAL_PRIVATE_KEY"):
        config.load(_production(tmp_path, PNAV_SEAL_PRIVATE_KEY=offline.decode()))
    with pytest.raises(ConfigurationError, match="PNAV_SEAL_PRIVATE_KEY"):
        config.load(_production(tmp_path, PNAV_SEAL_PRIVATE_KEY=str(tmp_path / "offline.pem")))
    # Another kind of private key (a TLS key) next to the public key is not a sealing key.
    tls = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "keys" / "tls.key").write_bytes(tls)
    config.load(_production(tmp_path))


def test_escalation_config_repr_shows_no_secret(tmp_path: Path) -> None:
    """repr of the escalation configuration shows neither the contact key nor a webhook's secret."""
    contact = secrets.token_bytes(32)
    settings = Settings(environment="test", secret_key="s" * 40, extra={
        "PNAV_CONTACT_KEY": base64.urlsafe_b64encode(contact).decode(),
        "PNAV_WEBHOOKS": '{"svc": {"url": "https://svc.example/hook", "secret": "' + "w" * 40 + '"}}'})
    shown = repr(config.load(settings))
    assert "svc.example" in shown
    assert "w" * 40 not in shown and repr(contact) not in shown and "contact_key" not in shown
