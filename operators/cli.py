"""``pnav users …`` and ``pnav demo``: account management from the command line, against PNAV_DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import keys
from chat.db import create_cli_engine, session_factory
from chat.settings import ConfigurationError, Settings
from operators import accounts
from operators.models import FORCES, ROLES

if TYPE_CHECKING:
    from routing import LocalService


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> _Parser:
    parser = _Parser(prog="pnav users", description="Gestion des comptes des équipes.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="créer un compte (mot de passe lu sur l'entrée standard)")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--force", choices=FORCES)
    create.add_argument("--service", dest="service_id")
    create.add_argument("--display-name", default="")
    for name, text in (("disable", "désactiver un compte (ferme ses sessions)"), ("enable", "réactiver un compte"),
                       ("reset-password", "nouveau mot de passe (lu sur l'entrée standard)"),
                       ("reset-totp", "nouveau secret TOTP (affiche l'URI otpauth://)")):
        sub.add_parser(name, help=text).add_argument("username")
    sub.add_parser("list", help="lister les comptes")
    return parser


def _read_password(stdin: TextIO) -> str:
    """The password from stdin: the first line, without its line break (piped or typed)."""
    if stdin.isatty():
        import getpass

        return getpass.getpass("Mot de passe : ")
    return stdin.readline().rstrip("\r\n")


def _run(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]], env: dict[str, str] | None) -> int:
    settings = Settings.from_env(env)
    key = keys.load(settings)

    async def main() -> int:
        engine = create_cli_engine(settings.database_url)
        try:
            return await work(keys.bind(session_factory(engine), key))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def main_users(argv: list[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None,
               env: dict[str, str] | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"pnav users : {exc}", file=sys.stderr)
        return 2

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        if args.command == "create":
            created = await accounts.create(
                sessions, args.username, _read_password(stdin), role=args.role, force=args.force,
                service_id=args.service_id, display_name=args.display_name,
            )
            print(f"Compte {created.account.username} créé ({created.account.role}).", file=stdout)
            print(created.otpauth_uri, file=stdout)
        elif args.command in ("disable", "enable"):
            await accounts.set_disabled(sessions, args.username, args.command == "disable")
            print(f"Compte {args.username} {'désactivé' if args.command == 'disable' else 'réactivé'}.", file=stdout)
        elif args.command == "reset-password":
            await accounts.reset_password(sessions, args.username, _read_password(stdin))
            print(f"Mot de passe de {args.username} changé ; ses sessions sont fermées.", file=stdout)
        elif args.command == "reset-totp":
            print(await accounts.reset_totp(sessions, args.username), file=stdout)
        else:
            for a in await accounts.all_accounts(sessions):
                state = "désactivé" if a.disabled else "actif"
                print(f"{a.username}\t{a.role}\t{a.force or '-'}\t{a.service_id or '-'}\t{state}", file=stdout)
        return 0

    return _guarded("pnav users", work, env)


def _guarded(prog: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]],
             env: dict[str, str] | None) -> int:
    try:
        return _run(work, env)
    except accounts.AccountError as exc:
        print(f"{prog} : {exc}", file=sys.stderr)
    except ConfigurationError as exc:
        print(f"{prog} : configuration : {exc}", file=sys.stderr)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        print(f"{prog} : base de données inaccessible ou non migrée (lancez « pnav migrate ») : {reason}",
              file=sys.stderr)
    except OSError as exc:
        print(f"{prog} : {exc}", file=sys.stderr)
    return 1


DEMO_ACCOUNTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("demo-police", "operator", "police", "Opératrice police (démo)"),
    ("demo-gendarmerie", "operator", "gendarmerie", "Opérateur gendarmerie (démo)"),
    ("demo-psychologue", "psychologist", None, "Psychologue (démo)"),
    ("demo-superviseur-police", "supervisor", "police", "Superviseur police (démo)"),
    ("demo-superviseur-gendarmerie", "supervisor", "gendarmerie", "Superviseuse gendarmerie (démo)"),
)


# The postal codes the README and the tests use, one territory per force: a tchat started there is routed to that
# force, and a signalement consented in it reaches the inbox of the local-service account made for it.
DEMO_TERRITORIES: tuple[tuple[str, str, str | None], ...] = (
    ("demo-commissariat", "75011", None),  # Paris 11e: police nationale
    ("demo-brigade", "54120", "54039"),  # Baccarat: gendarmerie nationale
)
# Shown when the psychologists' office hours are closed now: how to open them for a demonstration.
OPEN_HOURS_FOR_DEMO = "PNAV_PSYCHOLOGIST_HOURS='mon-sun 00:00-24:00' make run"


@dataclass(frozen=True)
class DemoService:
    username: str
    postal_code: str
    commune: str
    service: LocalService


def demo_services() -> list[DemoService]:
    """The local services competent for the demo postal codes, from the routing data shipped with pnav."""
    import routing

    found = []
    for username, postal_code, insee in DEMO_TERRITORIES:
        try:
            resolution = routing.resolve(postal_code, insee)
        except routing.RoutingError:
            continue
        if resolution.local_service is not None:
            found.append(DemoService(username, postal_code, resolution.commune_name, resolution.local_service))
    return found


def _hours_line(env: dict[str, str] | None, stored: str | None) -> str:
    from datetime import UTC, datetime

    from operators import office_hours

    settings = Settings.from_env(env)
    spec = stored if stored is not None else office_hours.default_spec(settings)
    now = datetime.now(UTC)
    if office_hours.is_open(office_hours.parse(spec), now):
        return f"Permanence des psychologues ({spec}) : ouverte en ce moment."
    if stored is not None:  # set on the web: the environment variable no longer decides
        return (f"Permanence des psychologues ({spec}) : fermée en ce moment. Un compte admin peut l'ouvrir sur "
                "/admin/horaires.")
    return (f"Permanence des psychologues ({spec}) : fermée en ce moment. Pour montrer l'invitation d'une "
            f"psychologue maintenant, lancez le serveur ainsi : {OPEN_HOURS_FOR_DEMO}")


def main_demo(argv: list[str], *, stdout: TextIO | None = None, env: dict[str, str] | None = None) -> int:
    """Create demo accounts with random passwords, printed once with their TOTP URIs; existing ones are kept."""
    stdout = stdout or sys.stdout
    if argv:
        print("pnav demo : aucun argument attendu", file=sys.stderr)
        return 2

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        services = {d.username: d for d in demo_services()}
        wanted = list(DEMO_ACCOUNTS) + [(d.username, "local_service", d.service.force, f"{d.service.name} (démo)")
                                        for d in services.values()]
        made = 0
        for username, role, force, display_name in wanted:
            territory = services.get(username)
            reaches = (f"\n  reçoit les signalements du code postal {territory.postal_code} ({territory.commune}) : "
                       f"{territory.service.name} [{territory.service.id}]") if territory else ""
            if await accounts.by_username(sessions, username) is not None:
                print(f"{username} existe déjà (inchangé).{reaches}", file=stdout)
                continue
            password = secrets.token_urlsafe(12)
            created = await accounts.create(
                sessions, username, password, role=role, force=force, display_name=display_name,
                service_id=territory.service.id if territory else None,
            )
            print(f"{username}\t{role}\t{force or '-'}\tmot de passe : {password}\n  TOTP : {created.otpauth_uri}"
                  f"{reaches}", file=stdout)
            made += 1
        if made:
            print("Notez ces mots de passe : ils ne seront plus affichés.", file=stdout)
        for territory in services.values():
            print(f"Démonstration : un tchat commencé avec le code postal {territory.postal_code} va à la "
                  f"{'police' if territory.service.force == 'police' else 'gendarmerie'} nationale ; un signalement "
                  f"accepté arrive chez {territory.username}.", file=stdout)
        from operators import office_hours

        print(_hours_line(env, await office_hours.stored_spec(sessions)), file=stdout)
        return 0

    return _guarded("pnav demo", work, env)
