"""Escalation settings, read once from ``Settings.extra`` (``PNAV_…``); production refuses to start without secrets."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chat import settings as chat_settings
from chat.settings import VAR_DIR, ConfigurationError, Settings, key_setting
from chat.state import ChatState
from escalation import crypto

EXTENSION = "escalation"
DEV_CONTACT_KEY = VAR_DIR / "dev-contact.key"
DEV_SEAL_PUBLIC = VAR_DIR / "dev-seal-public.pem"
DEV_SEAL_PRIVATE = VAR_DIR / "dev-seal-private.pem"

# Closed tchats (messages, notes, token hash) are kept 90 days: long enough for a supervisor's quality review and
# for the local service to find the context of a signalement, short enough that a transcript does not outlive
# its use. The conversation row's statistical columns are kept.
DEFAULT_CONVERSATION_DAYS = 90
# Sealed addresses are kept 30 days: a prosecutor's agreement in an emergency or for a minor comes within hours or
# days; past a month the address is rarely useful, and a sealed address that no longer exists cannot be lifted.
DEFAULT_SEALED_DAYS = 30
# Contact details and the account of facts of a closed signalement are kept one year: the procedure that follows
# (complaint, hearing) takes months and the victim may still check /suivi in that time.
DEFAULT_SIGNALEMENT_DAYS = 365


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class EscalationConfig:
    contact_key: bytes = field(repr=False)  # keys and secrets never show in a repr (tracebacks, debug logs)
    seal_public_key: bytes
    conversation_days: int = DEFAULT_CONVERSATION_DAYS
    sealed_days: int = DEFAULT_SEALED_DAYS
    signalement_days: int = DEFAULT_SIGNALEMENT_DAYS
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    # Each process purges a minute after start, then daily; ``PNAV_PURGE_IN_PROCESS=off`` leaves it to
    # ``pnav purge`` run by a timer (one pass for the whole deployment, at a chosen hour).
    purge_in_process: bool = True


def _days(extra: dict[str, str], name: str, default: int) -> int:
    raw = extra.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigurationError(f"{name} must be a positive number of days, not {raw!r}")
    return int(raw)


def _contact_key(settings: Settings) -> bytes:
    return key_setting(settings, "PNAV_CONTACT_KEY", dev_file=DEV_CONTACT_KEY, test_key=None)


def _seal_key(settings: Settings) -> bytes:
    path = settings.extra.get("PNAV_SEAL_PUBLIC_KEY", "")
    if path:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"PNAV_SEAL_PUBLIC_KEY: cannot read {path} ({exc.strerror})") from None
        if b"PRIVATE" in pem:
            raise ConfigurationError("PNAV_SEAL_PUBLIC_KEY names a private key: only the public key belongs here")
        try:
            crypto.load_public_key(pem)
        except ValueError:
            raise ConfigurationError("PNAV_SEAL_PUBLIC_KEY is not an X25519 public key in PEM form") from None
        if settings.environment == "production":
            found = private_key_on_server(settings, Path(path))
            if found:
                raise ConfigurationError(f"a sealing private key is readable on this server ({found}): it must stay "
                                         "offline, with the people who run `pnav escalation unseal`; move it away")
        return pem
    if settings.environment == "production":
        raise ConfigurationError("PNAV_SEAL_PUBLIC_KEY is required in production (path to the sealing public key)")
    if settings.environment == "test":
        # The private half is thrown away: addresses sealed by a test server without a key can never be opened.
        return crypto.generate_keypair()[1]
    if not DEV_SEAL_PUBLIC.exists():
        private_pem, public_pem = crypto.generate_keypair()
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        DEV_SEAL_PRIVATE.write_bytes(private_pem)
        DEV_SEAL_PRIVATE.chmod(0o600)
        DEV_SEAL_PUBLIC.write_bytes(public_pem)
        print(f"pnav (development): sealing key pair created; the private key is {DEV_SEAL_PRIVATE} — in production"
              " it must never be on the server", file=sys.stderr)
    return DEV_SEAL_PUBLIC.read_bytes()


# A PEM key file is a few hundred bytes: larger files are not read (a log or a database next to the key).
_KEY_FILE_MAX_BYTES = 64 * 1024


def _holds_private_key(data: bytes) -> bool:
    """True when ``data`` is an unencrypted X25519 private key in PEM form (what `pnav escalation keygen` writes)."""
    if b"PRIVATE KEY" not in data:
        return False
    try:
        crypto.load_private_key(data)
    except (ValueError, TypeError):  # another kind of key, or a passphrase-protected one
        return False
    return True


def _readable_key_file(path: Path) -> bool:
    try:
        if not path.is_file() or path.stat().st_size > _KEY_FILE_MAX_BYTES:
            return False
        return _holds_private_key(path.read_bytes())
    except OSError:  # not readable by this process: exactly what is asked
        return False


def private_key_on_server(settings: Settings, public_path: Path) -> str | None:
    """Where this process can read a sealing private key, or None.

    "Readable on the server" means readable by the pnav process itself, in the places a deployment puts keys by
    mistake: a ``PNAV_`` variable holding a PEM private key or naming a file that holds one (``PNAV_SEAL_PRIVATE_KEY``
    is the obvious one), and any file of the directory of ``PNAV_SEAL_PUBLIC_KEY``, of the var directory and of the
    working directory. Any X25519 private key counts, not only the configured key's half: an older key still opens
    the addresses it sealed. Elsewhere on the disk is the administrator's care (deploy/README.md)."""
    for name, value in sorted(settings.extra.items()):
        if _holds_private_key(value.encode()):
            return f"the variable {name}"
        if value.startswith("/") and "\n" not in value and _readable_key_file(Path(value)):
            return f"{value}, named by {name}"
    places = [public_path.absolute().parent, chat_settings.VAR_DIR, Path.cwd()]
    for folder in dict.fromkeys(places):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if _readable_key_file(Path(entry.path)):
                return entry.path
    return None


def _webhooks(settings: Settings) -> dict[str, Webhook]:
    raw = settings.extra.get("PNAV_WEBHOOKS", "")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigurationError('PNAV_WEBHOOKS must be JSON: {"SERVICE_ID": {"url": …, "secret": …}}') from None
    if not isinstance(data, dict):
        raise ConfigurationError('PNAV_WEBHOOKS must be JSON: {"SERVICE_ID": {"url": …, "secret": …}}')
    hooks: dict[str, Webhook] = {}
    for service_id, entry in data.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        secret = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"PNAV_WEBHOOKS[{service_id}]: url must be an http(s) URL")
        if settings.environment == "production" and not url.startswith("https://"):
            raise ConfigurationError(f"PNAV_WEBHOOKS[{service_id}]: url must use https in production")
        # 32 characters at least: the HMAC key must not be guessable offline from a captured signature.
        if not isinstance(secret, str) or len(secret) < 32:
            raise ConfigurationError(f"PNAV_WEBHOOKS[{service_id}]: secret must be at least 32 characters")
        hooks[str(service_id)] = Webhook(url, secret)
    return hooks


def _on_off(extra: dict[str, str], name: str, default: bool) -> bool:
    raw = extra.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigurationError(f"{name} must be on or off, not {raw!r}")
    return raw == "on"


def load(settings: Settings) -> EscalationConfig:
    """Read and check the escalation settings; raises ConfigurationError with a one-line reason."""
    extra = dict(settings.extra)
    return EscalationConfig(
        contact_key=_contact_key(settings),
        seal_public_key=_seal_key(settings),
        conversation_days=_days(extra, "PNAV_RETENTION_CONVERSATION_DAYS", DEFAULT_CONVERSATION_DAYS),
        sealed_days=_days(extra, "PNAV_RETENTION_SEALED_DAYS", DEFAULT_SEALED_DAYS),
        signalement_days=_days(extra, "PNAV_RETENTION_SIGNALEMENT_DAYS", DEFAULT_SIGNALEMENT_DAYS),
        webhooks=_webhooks(settings),
        purge_in_process=_on_off(extra, "PNAV_PURGE_IN_PROCESS", True),
    )


def of(state: ChatState) -> EscalationConfig:
    """The configuration of this process, loaded on first use (the startup check loads it before any request)."""
    return state.extension(EXTENSION, lambda: load(state.settings))
