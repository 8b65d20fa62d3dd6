"""Where pnav's Redis is: one server (``redis://``, ``rediss://``, ``unix://``) or a master found through Redis
Sentinel (``redis+sentinel://``, ``rediss+sentinel://``), with the deadlines of every command.

Sentinel URL (documented in README.md and deploy/README.md)::

    redis+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT…]/SERVICE[/DB][?sentinel_password=…&sentinel_username=…]

``PASSWORD`` (and ``USER``) authenticate to the Redis master, as in a plain ``redis://`` URL; the sentinels'
own ``requirepass`` goes in ``sentinel_password``. ``rediss+sentinel://`` speaks TLS to the master (the
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs`` and ``ssl_check_hostname`` parameters of
redis-py apply, as for ``rediss://``); the sentinels are reached in plain TCP.

Publishes and presence go through redis-py, which asks Sentinel for the master on every new connection; the
subscriber asks ``address()`` before every (re)connection.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import SSLConnection
from redis.asyncio.sentinel import Sentinel
from redis.connection import parse_url

# Connecting to Redis (or a sentinel) on a LAN takes a millisecond; 2 s is a dead, frozen or partitioned server.
CONNECT_TIMEOUT = 2.0
# A Redis command (a pipeline of 200 publishes, a ZADD of a whole process's visitors) is answered in well under a
# millisecond; a reply still missing after 2 s means a frozen server. 2 s keeps /healthz (3 s) and a new visitor's
# first request (POST /api/v1/conversations publishes the queue) well inside their 5 s.
COMMAND_TIMEOUT = 2.0

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")


class RedisUrlError(ValueError):
    """PNAV_REDIS_URL cannot be understood."""


@dataclass(frozen=True)
class RedisTarget:
    url: str
    # Plain URL: what redis-py's parse_url gives (host, port or path, password, db, ssl_…).
    # Sentinel URL: the master's connection options (password, db, ssl_…).
    options: dict[str, Any]
    sentinels: tuple[tuple[str, int], ...] = ()
    service: str = ""
    sentinel_options: dict[str, Any] = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        return self.url.startswith(("rediss://", "rediss+sentinel://"))

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    def client(self, **extra: Any) -> aioredis.Redis:
        """A redis-py client (its own connection pool) with pnav's deadlines."""
        deadlines: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": COMMAND_TIMEOUT,
                                     **extra}
        if not self.sentinels:
            return aioredis.Redis.from_url(self.url, **deadlines)
        master: aioredis.Redis = self._sentinel().master_for(self.service, redis_class=aioredis.Redis,
                                                             **{**self._master_options(), **deadlines})
        return master

    async def address(self) -> tuple[str, int] | str:
        """Where the master is now: (host, port), or a Unix socket path. Asks Sentinel each time."""
        if not self.sentinels:
            if "path" in self.options:
                return str(self.options["path"])
            return str(self.options.get("host", "localhost")), int(self.options.get("port", 6379))
        sentinel = self._sentinel()
        try:
            host, port = await sentinel.discover_master(self.service)
        finally:
            await sentinel.aclose()
        return str(host), int(port)

    @property
    def password(self) -> str | None:
        value = self.options.get("password")
        return str(value) if value else None

    @property
    def username(self) -> str | None:
        value = self.options.get("username")
        return str(value) if value else None

    @property
    def db(self) -> int:
        return int(self.options.get("db", 0) or 0)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context redis-py itself would build from the URL's ``ssl_…`` parameters (same defaults)."""
        if not self.tls:
            return None
        names = ("ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path",
                 "ssl_check_hostname", "ssl_min_version", "ssl_ciphers", "ssl_password")
        given = {name: self.options[name] for name in names if name in self.options}
        if isinstance(given.get("ssl_check_hostname"), str):
            given["ssl_check_hostname"] = given["ssl_check_hostname"].lower() in ("1", "true", "yes", "on")
        context: ssl.SSLContext = SSLConnection(**given).ssl_context.get()
        return context

    def _sentinel(self) -> Sentinel:
        sentinel_kwargs = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": COMMAND_TIMEOUT,
                           **self.sentinel_options}
        return Sentinel(list(self.sentinels), sentinel_kwargs=sentinel_kwargs)

    def _master_options(self) -> dict[str, Any]:
        options = dict(self.options)
        if self.tls:
            options["ssl"] = True
        return options


def parse_redis_url(url: str) -> RedisTarget:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SENTINEL_SCHEMES:
        try:
            options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            raise RedisUrlError(str(exc)) from None
        options.pop("connection_class", None)
        return RedisTarget(url, options)
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    sentinels: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise RedisUrlError(f"a sentinel is HOST:PORT, not {item!r}")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise RedisUrlError("a Sentinel URL names its service, then optionally a database: …/mymaster/0")
    master: dict[str, Any] = {"db": int(path[1]) if len(path) == 2 else 0}
    if userinfo:
        username, _, password = userinfo.partition(":")
        if username:
            master["username"] = unquote(username)
        if password:
            master["password"] = unquote(password)
    sentinel_options: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query):
        if name in ("sentinel_password", "sentinel_username"):
            sentinel_options[name.removeprefix("sentinel_")] = value
        elif name.startswith("ssl_"):
            master[name] = value
        else:
            raise RedisUrlError(f"unknown parameter {name!r} in a Sentinel URL")
    return RedisTarget(url, master, tuple(sentinels), unquote(path[0]), sentinel_options)
