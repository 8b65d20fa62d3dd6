"""``pnav purge`` and ``pnav escalation unseal|keygen``: one-line errors, exit codes."""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys, trail
from chat.db import create_cli_engine, session_factory
from chat.settings import ConfigurationError, Settings
from escalation import config, crypto, lifting, purge

Sessions = async_sessionmaker[AsyncSession]


def _fail(message: str, code: int = 1) -> int:
    print(f"pnav: {message}", file=sys.stderr)
    return code


def _with_db(work: Callable[[Settings, Sessions], Awaitable[int]]) -> int:
    async def run() -> int:
        settings = Settings.from_env()
        key = keys.load(settings)
        engine = create_cli_engine(settings.database_url)
        try:
            return await work(settings, keys.bind(session_factory(engine), key))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except ConfigurationError as exc:
        return _fail(str(exc), 2)
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"database unavailable ({type(exc).__name__}); is PNAV_DATABASE_URL right and migrated?")


def main_purge(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pnav purge", description="delete what is past its retention period")
    parser.parse_args(argv)

    async def work(settings: Settings, sessions: Sessions) -> int:
        purged = await purge.run(sessions, config.load(settings), actor="cli")
        print(f"purged: {purged.conversations} conversations ({purged.messages} messages), "
              f"{purged.sealed_identities} sealed addresses, {purged.signalements} signalements, "
              f"{purged.feedback_comments} feedback comments")
        return 0

    return _with_db(work)


def _unseal(args: argparse.Namespace) -> int:
    try:
        private_pem = Path(args.key).read_bytes()
        crypto.load_private_key(private_pem)
    except OSError as exc:
        return _fail(f"cannot read the private key {args.key} ({exc.strerror})")
    except ValueError:
        return _fail(f"{args.key} is not an X25519 private key in PEM form")
    operator = args.operator or os.environ.get("SUDO_USER") or getpass.getuser()

    async def work(_settings: Settings, sessions: Sessions) -> int:
        try:
            opened = await lifting.unseal(sessions, args.request_id, private_pem,
                                          operator=f"cli:{operator}")
        except lifting.LiftingError as exc:
            await trail.record(sessions, actor=f"cli:{operator}", action="identity.unseal_refused",
                               target=args.request_id[:32], details={"reason": exc.reason})
            return _fail(f"unseal refused: {exc.reason}")
        for item in opened:
            print(f"{item.address}\t{item.connected_at}")
        return 0

    return _with_db(work)


def _keygen(args: argparse.Namespace) -> int:
    private_path, public_path = Path(args.private), Path(args.public)
    if private_path.exists() or public_path.exists():
        return _fail("refusing to overwrite an existing key file")
    private_pem, public_pem = crypto.generate_keypair()
    private_path.write_bytes(private_pem)
    private_path.chmod(0o600)
    public_path.write_bytes(public_pem)
    print(f"sealing public key: {public_path} (set PNAV_SEAL_PUBLIC_KEY to it on the servers)")
    print(f"sealing private key: {private_path} (keep it OFF the servers, offline, with the person who unseals)")
    print(f"PNAV_CONTACT_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}")
    print(f"PNAV_ATTACHMENT_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}")
    print(f"PNAV_AUDIT_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}")
    return 0


def main_escalation(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pnav escalation", description="identity lifting and escalation keys")
    sub = parser.add_subparsers(dest="command", required=True)
    unseal = sub.add_parser("unseal", help="open the sealed addresses of an approved lifting request")
    unseal.add_argument("request_id")
    unseal.add_argument("--key", required=True, help="the offline X25519 private key (PEM)")
    unseal.add_argument("--operator", help="who runs the command (recorded in the audit log)")
    unseal.set_defaults(handler=_unseal)
    keygen = sub.add_parser("keygen", help="create the sealing key pair and print a contact-details key")
    keygen.add_argument("--private", required=True)
    keygen.add_argument("--public", required=True)
    keygen.set_defaults(handler=_keygen)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result
