"""``pnav audit verify [--checkpoint FILE]`` and ``pnav audit checkpoint [--append FILE] [--webhook URL]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import checkpoints, keys
from chat.db import create_cli_engine, session_factory
from chat.settings import ConfigurationError, Settings

Sessions = async_sessionmaker[AsyncSession]


def _fail(message: str, code: int = 1) -> int:
    print(f"pnav: {message}", file=sys.stderr)
    return code


async def _verify(sessions: Sessions, checkpoint_file: str | None) -> int:
    points: list[checkpoints.Checkpoint] = []
    if checkpoint_file:
        try:
            saved = await asyncio.to_thread(Path(checkpoint_file).read_text)
            points = checkpoints.read(saved, keys.of_factory(sessions))
        except OSError as exc:
            return _fail(f"cannot read {checkpoint_file} ({exc.strerror})", 2)
        except checkpoints.CheckpointError as exc:
            return _fail(f"{checkpoint_file}: {exc}")
    checked = await checkpoints.check(sessions, points)
    result = checked.verification
    if result.broken_at is not None:
        return _fail(f"audit log broken at entry {result.broken_at}: {result.reason} "
                     f"({result.checked} entries before it are intact)")
    for problem in checked.problems:
        print(f"pnav: audit log does not match its checkpoint: {problem}", file=sys.stderr)
    if checked.problems:
        return 1
    against = f", consistent with {len(points)} checkpoint(s)" if points else ""
    print(f"audit log intact: {result.checked} entries, head {result.head}{against}")
    return 0


def _append(path: Path, line: str) -> None:
    with path.open("a") as file:
        file.write(line + "\n")


async def _checkpoint(sessions: Sessions, append: str | None, webhook: str | None) -> int:
    try:
        point = await checkpoints.take(sessions)
    except checkpoints.CheckpointError as exc:
        return _fail(str(exc))
    print(point.line())
    if append:
        try:
            await asyncio.to_thread(_append, Path(append), point.line())
        except OSError as exc:
            return _fail(f"cannot append to {append} ({exc.strerror})")
    if webhook:
        try:
            await checkpoints.send(webhook, point)
        except checkpoints.CheckpointError as exc:
            return _fail(f"checkpoint not delivered to the webhook ({exc}); keep the line above")
        except httpx.HTTPError as exc:
            return _fail(f"checkpoint not delivered to the webhook ({type(exc).__name__}); keep the line above")
    return 0


def main_audit(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pnav audit", description="the keyed, hash-chained audit log")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="walk the chain (and hold it against saved checkpoints)")
    verify.add_argument("--checkpoint", metavar="FILE", help="a file of checkpoint lines (pnav audit checkpoint)")
    point = sub.add_parser("checkpoint", help="print the signed head of the chain: count, head MAC, time")
    point.add_argument("--append", metavar="FILE", help="also append the line to FILE")
    point.add_argument("--webhook", metavar="URL", help="also POST it as JSON to URL")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        key = keys.load(settings)
    except ConfigurationError as exc:
        return _fail(str(exc), 2)

    async def run() -> int:
        engine = create_cli_engine(settings.database_url)
        sessions = keys.bind(session_factory(engine), key)
        try:
            if args.command == "verify":
                return await _verify(sessions, args.checkpoint)
            return await _checkpoint(sessions, args.append, args.webhook)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"database unavailable ({type(exc).__name__}); is PNAV_DATABASE_URL right and migrated?")
