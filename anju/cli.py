"""The `anju` command: demo, serve, worker, imports, audit checks, and any Django command."""

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

DEFAULT_PORT = 8000


def _prepare_home(home: str | None) -> Path:
    """Point ANJU_HOME at `home` (or the default) and give it a secret key, before Django loads."""
    if home:
        os.environ["ANJU_HOME"] = home
    path = Path(os.environ.get("ANJU_HOME", "anju-home")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    key = path / "secret.key"
    if not key.exists() and not os.environ.get("ANJU_SECRET_KEY"):
        key.write_text(secrets.token_urlsafe(50))
        key.chmod(0o600)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    import django

    django.setup()
    from anju.core.audit import current_ip

    current_ip.set("cli")
    return path


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _serve(port: int, host: str) -> None:
    from waitress import serve

    from anju.wsgi import application

    print(f"Anju is serving on http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
    serve(application, host=host, port=port, threads=8, ident="anju")


def _faults(errors: list[str]) -> int:
    """Print an import's faults for the clerk to fix; the exit status of a refused import."""
    print(f"Nothing was imported; {len(errors)} faults:", file=sys.stderr)
    for e in errors:
        print(f"  {e}", file=sys.stderr)
    return 1


def cmd_demo(args) -> int:
    home = _prepare_home(args.home)
    _migrate()
    from anju.demo import cases as demo_cases
    from anju.demo import disputes as demo_disputes
    from anju.demo.loader import load_demo

    cases = demo_cases.default_count(args.residents) if args.cases is None else args.cases
    disputes = demo_disputes.default_count(args.residents) if args.disputes is None else args.disputes
    accounts = load_demo(home, residents=args.residents, cases=cases, out=print, disputes=disputes)
    print(f"\nDemo accounts (also in {home / 'demo-accounts.json'}):")
    for a in accounts:
        # The Open311 entry has an API key instead of a password, and no scope.
        secret = a.get("password") or a.get("api_key", "")
        print(f"  {a['username']:<18} {secret:<18} {a['role']:<17} {a.get('scope', '')}".rstrip())
    if not args.no_serve:
        _serve(args.port, args.host)
    return 0


def cmd_serve(args) -> int:
    _prepare_home(args.home)
    _migrate()
    _serve(args.port, args.host)
    return 0


def cmd_worker(args) -> int:
    _prepare_home(args.home)
    _migrate()
    from django.core.management import call_command

    from anju.core import periodic

    # Periodic tasks (reminders, sweeps) are queued by the worker itself: no cron needed.
    if args.once:
        periodic.queue_due()
        call_command("db_worker", "--batch", "--no-startup-delay")
        return 0
    stop = periodic.start_scheduler()
    try:
        call_command("db_worker")
    finally:
        stop.set()
    return 0


def cmd_manage(args) -> int:
    _prepare_home(args.home)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["anju manage", *args.rest])
    return 0


def cmd_import_divisions(args) -> int:
    _prepare_home(args.home)
    _migrate()
    from anju.geo.actions import import_divisions
    from anju.geo.imports import ImportFailed

    try:
        n = import_divisions(Path(args.dir), args.under)
    except ImportFailed as exc:
        return _faults(exc.errors)
    print(f"{n} divisions imported or refreshed.")
    return 0


def cmd_grids(args) -> int:
    _prepare_home(args.home)
    _migrate()
    from anju.geo.actions import export_grids, import_grids
    from anju.geo.imports import ImportFailed

    if args.grids_command == "export":
        text = json.dumps(export_grids(None, args.under), ensure_ascii=False)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            print(text)
        return 0
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    try:
        result = import_grids(None, data)
    except ImportFailed as exc:
        return _faults(exc.errors)
    print(f"{result['created']} grids created, {result['updated']} updated.")
    return 0


def cmd_audit(args) -> int:
    _prepare_home(args.home)
    from anju.core.audit import verify

    result = verify()
    if result.ok:
        print(f"Audit chain intact: {result.checked} rows checked.")
        return 0
    print(f"Audit chain broken: {result.problem} ({result.checked} rows before it are intact).", file=sys.stderr)
    return 1


def _moment(text: str | None):
    """An ISO date-time (naive means Asia/Shanghai), or None for now; ValueError when unreadable."""
    if text is None:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def cmd_sla(args) -> int:
    """`anju sla sweep [--at TIME]`: one pass of the supervision sweeper, at a given moment if asked."""
    try:
        now = _moment(args.at)
    except ValueError:
        print(f"--at: not an ISO date and time: {args.at!r} (e.g. 2026-11-23T14:00)", file=sys.stderr)
        return 2
    _prepare_home(args.home)
    _migrate()
    from django.utils import timezone

    from anju.core.deadlines import sweep_all

    now = now or timezone.now()
    for name, done in sweep_all(now).items():
        counts = ", ".join(f"{k} {v}" for k, v in done.items())
        print(f"Sweep of {name} at {timezone.localtime(now):%Y-%m-%d %H:%M %Z}: {counts}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anju", description="Anju community governance platform")
    parser.add_argument("--home", help="data folder (default: $ANJU_HOME or ./anju-home)")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_home(p):
        p.add_argument("--home", default=argparse.SUPPRESS, help="data folder (default: $ANJU_HOME or ./anju-home)")
        return p

    p = with_home(sub.add_parser("demo", help="prepare the demo district and serve it"))
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--no-serve", action="store_true", help="prepare only")
    p.add_argument(
        "--residents", type=int, default=50_000, help="synthetic residents for the registry (default 50,000; 0: none)"
    )
    p.add_argument(
        "--cases", type=int, help="a year of synthetic cases (default: 12 per 100 residents, 6,000 for 50,000; 0: none)"
    )
    p.add_argument(
        "--disputes",
        type=int,
        help="a year of synthetic disputes (default: 1 per 100 residents, 500 for 50,000; 0: none)",
    )
    p.set_defaults(func=cmd_demo)

    p = with_home(sub.add_parser("serve", help="serve the data in ANJU_HOME"))
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_serve)

    p = with_home(sub.add_parser("worker", help="run background tasks"))
    p.add_argument("--once", action="store_true", help="run what is queued, then stop")
    p.set_defaults(func=cmd_worker)

    p = with_home(sub.add_parser("manage", help="any Django management command"))
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)

    p = with_home(sub.add_parser("import-divisions", help="load national division codes from a folder"))
    p.add_argument("dir")
    p.add_argument("--under", help="only this division's subtree (and the divisions above it)")
    p.set_defaults(func=cmd_import_divisions)

    p = with_home(sub.add_parser("grids", help="import or export grids as GeoJSON"))
    gsub = p.add_subparsers(dest="grids_command", required=True)
    gi = with_home(gsub.add_parser("import"))
    gi.add_argument("file")
    ge = with_home(gsub.add_parser("export"))
    ge.add_argument("--under", help="a division or grid code")
    ge.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_grids)

    p = with_home(sub.add_parser("audit", help="check the audit log"))
    asub = p.add_subparsers(dest="audit_command", required=True)
    with_home(asub.add_parser("verify", help="exit non-zero and name the first altered or removed row"))
    p.set_defaults(func=cmd_audit)

    p = with_home(sub.add_parser("sla", help="case time limits"))
    ssub = p.add_subparsers(dest="sla_command", required=True)
    ss = with_home(ssub.add_parser("sweep", help="give yellow and red cards, escalate, expire ratings: one pass"))
    ss.add_argument("--at", help="the moment to sweep at, ISO 8601 (default: now; no offset: Asia/Shanghai)")
    p.set_defaults(func=cmd_sla)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "residents", 0) < 0:
        print("--residents must be 0 or more", file=sys.stderr)
        return 2
    for option in ("cases", "disputes"):
        if (getattr(args, option, 0) or 0) < 0:
            print(f"--{option} must be 0 or more", file=sys.stderr)
            return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
