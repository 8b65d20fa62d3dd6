"""The ``pnav`` command line. User errors end with a one-line reason and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from chat.settings import ConfigurationError, Settings

# Subcommands that other packages implement: name → (module, function taking argv and returning an exit code).
DELEGATED: dict[str, tuple[str, str, str]] = {
    "users": ("operators.cli", "main_users", "manage operator, psychologist, supervisor and service accounts"),
    "demo": ("operators.cli", "main_demo", "create demo accounts and print their credentials once"),
    "data": ("pnav.cli", "_main_data", "rebuild routing data from the official files (data import …)"),
    "audit": ("audit.cli", "main_audit", "the keyed audit log (audit verify, audit checkpoint)"),
    "purge": ("escalation.cli", "main_purge", "delete what is past its retention period"),
    "escalation": ("escalation.cli", "main_escalation", "identity lifting (escalation unseal …)"),
    "opendata": ("operators.stats.opendata", "main_opendata", "export aggregated open data (opendata export …)"),
    "services": ("routing.service_search", "main_services", "find local-service ids (services search QUERY)"),
}


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from audit import keys as audit_keys
    from pnav import logs
    from pnav.serving import is_loopback, server_settings
    from pnav.websocket_protocol import reliance_problems

    settings = Settings.from_env()
    audit_keys.load(settings)  # PNAV_AUDIT_KEY, required in production: one line now rather than at startup
    if settings.environment != "production" and not is_loopback(args.host) and not args.not_production:
        # Outside production pnav generates its secrets (the private sealing key included) and sets non-Secure
        # cookies: fine on a developer's machine, never on an interface others reach.
        print(f"pnav: PNAV_ENV={settings.environment} serves on loopback only; refusing --host {args.host}. "
              "Set PNAV_ENV=production with its secrets (deploy/README.md), or add --i-know-this-is-not-production.",
              file=sys.stderr)
        return 2
    problems = reliance_problems()
    if problems:
        print(f"pnav: the installed uvicorn {uvicorn.__version__} / websockets lack what pnav's WebSocket protocol "
              f"relies on: {'; '.join(problems)}. Install the pinned versions: pip install --require-hashes "
              "-r requirements.txt", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.redis_url.startswith("memory://"):
        # Each worker would have its own in-process broker: a visitor and an operator on two workers would never
        # hear each other. Several processes need Redis for fan-out and presence.
        print("pnav: --workers > 1 needs PNAV_REDIS_URL=redis://… (the in-process broker cannot span processes)",
              file=sys.stderr)
        return 2
    if settings.environment == "production" and not is_loopback(args.host):
        print("pnav: serving directly on a public interface; put it behind a TLS proxy (see deploy/)", file=sys.stderr)
    uvicorn.run("pnav.asgi:app", host=args.host, port=args.port, workers=args.workers, log_config=logs.config(),
                **server_settings(settings))
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from pnav.migrate import upgrade

    url = Settings.from_env().database_url
    where = make_url(url).render_as_string(hide_password=True)
    applied = upgrade(url)
    if applied:
        print(f"pnav: {len(applied)} migration(s) applied to {where}: {', '.join(applied)}; the database is now up "
              "to date")
    else:
        print(f"pnav: nothing to apply, {where} was already up to date")
    return 0


def _main_data(argv: list[str]) -> int:
    if not argv or argv[0] != "import":
        print("usage: pnav data import --sources DIR [--competence F] [--communes F] [--annuaire F]", file=sys.stderr)
        return 2
    from routing.importer import main_import

    return main_import(argv[1:])


def _delegate(module: str, function: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        try:
            target = getattr(importlib.import_module(module), function)
        except (ModuleNotFoundError, AttributeError):
            print(f"pnav: this command is not available in this version ({module})", file=sys.stderr)
            return 2
        result: int = target(argv)
        return result

    return run


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="pnav", description="pnav: tchat anonyme d'aide aux victimes")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--i-know-this-is-not-production", dest="not_production", action="store_true",
                       help="serve a development or test configuration on a non-loopback interface anyway")
    serve.set_defaults(handler=_serve)
    sub.add_parser("migrate", help="bring the database to the latest schema").set_defaults(handler=_migrate)
    for name, (_module, _function, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if argv and argv[0] in DELEGATED:
        module, function, _ = DELEGATED[argv[0]]
        try:
            return _delegate(module, function)(argv[1:])
        except ConfigurationError as exc:
            print(f"pnav: {exc}", file=sys.stderr)
            return 2
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except ConfigurationError as exc:
        print(f"pnav: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
