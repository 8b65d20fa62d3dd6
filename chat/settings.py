"""One settings object, read once from the environment (``PNAV_…``) when the app starts."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where development state lives (SQLite file, generated development secrets): PNAV_VAR_DIR, else ``var/`` under the
# directory pnav is started from. Never next to the code: an installed pnav would write into site-packages.
VAR_DIR = Path(os.environ.get("PNAV_VAR_DIR") or "var").absolute()
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{VAR_DIR / 'pnav.sqlite3'}"
# Who may read /metrics by default: the machine itself (a Prometheus on the host, or an SSH tunnel).
LOOPBACK = ("127.0.0.0/8", "::1/128")


class ConfigurationError(Exception):
    """Raised when the environment does not describe a runnable pnav (missing secret in production, bad value)."""


KEY_HINT = "python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"


def key_setting(settings: Settings, name: str, *, dev_file: Path, test_key: bytes | None,
                production_hint: str = "") -> bytes:
    """A 32-byte secret key from the variable ``name`` (URL-safe base64), required in production. Tests get
    ``test_key`` (None: a fresh random key for this process); development generates one once in ``dev_file``."""
    raw = settings.extra.get(name, "")
    if raw:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigurationError(f"{name} must be 32 bytes in URL-safe base64 ({KEY_HINT})")
        return key
    if settings.environment == "production":
        raise ConfigurationError(f"{name} is required in production (32 random bytes, URL-safe base64: "
                                 f"pnav escalation keygen prints one){production_hint}")
    if settings.environment == "test":
        return secrets.token_bytes(32) if test_key is None else test_key
    if not dev_file.exists():
        dev_file.parent.mkdir(parents=True, exist_ok=True)
        dev_file.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        dev_file.chmod(0o600)
    return base64.urlsafe_b64decode(dev_file.read_text().strip())


def _dev_secret(name: str) -> str:
    """A development secret, generated once and kept under var/ so restarts keep sessions valid."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "dev-secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = secrets.token_urlsafe(32)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return stored[name]


def _networks(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated addresses or CIDRs, checked here so that a typo stops the start instead of trusting nobody
    (or everybody) in silence; returned in their normal form (``127.0.0.1/32``)."""
    raw = env.get(name)
    if raw is None:
        return default
    networks: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigurationError(f"{name} must list IP addresses or networks (CIDR), not {item!r}") from None
    return tuple(networks)


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy knows (memory://): it carries no password
        return url if "@" not in url else "***"


@dataclass(frozen=True, repr=False)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = "memory://"
    environment: str = "development"
    secret_key: str = field(default="", repr=False)
    # Frames above this size are refused: a chat message is text typed on a phone; 16 KiB leaves room for
    # JSON escaping of a 4,000-character message while keeping a hostile client from making us parse megabytes.
    max_frame_bytes: int = 16_384
    # Longest message body in characters: about two screens of a phone, enough for a long account of facts;
    # longer texts are asked to be split, which also keeps each message readable for the operator.
    max_message_chars: int = 4_000
    # Per-subscriber buffer of broker events: a healthy socket drains in milliseconds; 256 pending frames means
    # the client stopped reading, so it is disconnected (it resumes by seq) rather than growing our memory.
    subscriber_queue_size: int = 256
    # Visitor tokens stop working this long after the conversation is closed or abandoned: long enough to read the
    # last messages after a dropped connection, short enough that a borrowed phone does not keep a live credential.
    token_grace_seconds: int = 3_600
    # Connection pool: one process serves thousands of sockets but each database call is short, and the hot paths
    # share connections (group commit, coalesced reads), so 20 covers bursts on 2 cores while N processes × 20 stay
    # under PostgreSQL's default 100 connections up to 4 processes. No overflow: an overflow connection is opened
    # and closed around each use under load (TCP + TLS negotiation + auth each time, profiled at ~10% of a busy
    # process); a burst beyond 20 waits for a pooled one instead.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # Sends per second (and burst) allowed on one visitor socket: a person types at most a message a second or
    # so, and a burst of 10 lets them paste several short lines. Only load tests raise it (loadtests/bench.py).
    visitor_send_rate: int = 2
    visitor_send_burst: int = 10
    # A socket whose peer reads nothing for this long is aborted, its buffers freed (pnav/websocket_protocol.py).
    socket_stall_seconds: int = 20
    trusted_origins: tuple[str, ...] = field(default_factory=tuple)
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDRs). None by
    # default: a visitor who sends those headers straight to pnav must not choose the address that is sealed or
    # counted against the limits.
    forwarded_allow_ips: tuple[str, ...] = field(default_factory=tuple)
    # Who may read /metrics, checked against the client address as derived above (see chat/metrics.py).
    metrics_allow_ips: tuple[str, ...] = LOOPBACK
    # Every PNAV_ variable, secrets included (contact key, webhooks): never shown by repr.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def development(self) -> bool:
        return self.environment == "development"

    def __repr__(self) -> str:
        """Settings end up in tracebacks and debug logs: no secret, no password inside a URL."""
        shown = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.name in ("database_url", "redis_url"):
                value = _without_password(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = env.get("PNAV_ENV", "development")
        if environment not in {"development", "production", "test"}:
            raise ConfigurationError(f"PNAV_ENV must be development, production or test, not {environment!r}")
        secret_key = env.get("PNAV_SECRET_KEY", "")
        if not secret_key:
            if environment == "production":
                raise ConfigurationError("PNAV_SECRET_KEY is required in production (32+ random characters)")
            secret_key = _dev_secret("secret_key") if environment == "development" else secrets.token_urlsafe(32)
        elif environment == "production" and len(secret_key) < 32:
            raise ConfigurationError("PNAV_SECRET_KEY must be at least 32 characters long")
        origins = tuple(o.strip().rstrip("/") for o in env.get("PNAV_TRUSTED_ORIGINS", "").split(",") if o.strip())
        return cls(
            database_url=env.get("PNAV_DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=env.get("PNAV_REDIS_URL", "memory://"),
            environment=environment,
            secret_key=secret_key,
            max_frame_bytes=_int(env, "PNAV_MAX_FRAME_BYTES", cls.max_frame_bytes),
            max_message_chars=_int(env, "PNAV_MAX_MESSAGE_CHARS", cls.max_message_chars),
            subscriber_queue_size=_int(env, "PNAV_SUBSCRIBER_QUEUE_SIZE", cls.subscriber_queue_size),
            token_grace_seconds=_int(env, "PNAV_TOKEN_GRACE_SECONDS", cls.token_grace_seconds),
            db_pool_size=_int(env, "PNAV_DB_POOL_SIZE", cls.db_pool_size),
            db_max_overflow=_int(env, "PNAV_DB_MAX_OVERFLOW", cls.db_max_overflow),
            visitor_send_rate=_int(env, "PNAV_VISITOR_SEND_RATE", cls.visitor_send_rate),
            visitor_send_burst=_int(env, "PNAV_VISITOR_SEND_BURST", cls.visitor_send_burst),
            socket_stall_seconds=_int(env, "PNAV_SOCKET_STALL_SECONDS", cls.socket_stall_seconds),
            trusted_origins=origins,
            forwarded_allow_ips=_networks(env, "PNAV_FORWARDED_ALLOW_IPS", ()),
            metrics_allow_ips=_networks(env, "PNAV_METRICS_ALLOW_IPS", LOOPBACK),
            extra={k: v for k, v in env.items() if k.startswith("PNAV_")},
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from exc
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive")
    return value
