"""`bookshop migrate`: apply, roll back or list the migrations, as the owner role."""

import argparse

from rich.console import Console
from rich.table import Table

from bookshop.cli.common import Commands, console, owner_url, positive_float
from bookshop.db import migrations
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("migrate", help="apply, roll back or list migrations (under yoyo's lock)")
    actions = p.add_subparsers(dest="action", required=True)
    apply_action = actions.add_parser("apply", help="apply every pending migration")
    rollback = actions.add_parser("rollback", help="roll back the newest migrations")
    for locking in (apply_action, rollback):
        locking.add_argument(
            "--lock-timeout",
            type=positive_float,
            default=migrations.LOCK_TIMEOUT_SECONDS,
            help="seconds to wait for another process's migration lock (yoyo_lock) before giving up"
            f" ({migrations.LOCK_TIMEOUT_SECONDS:g})",
        )
    rollback_count = rollback.add_mutually_exclusive_group()
    rollback_count.add_argument("--count", type=int, default=1, help="how many (default 1)")
    rollback_count.add_argument("--all", action="store_true", help="every applied migration")
    actions.add_parser("list", help="every migration and whether it is applied")
    p.set_defaults(handler=migrate)


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    dsn = owner_url(settings)
    if args.action == "apply":
        applied = migrations.apply(dsn, lock_timeout=args.lock_timeout)
        console.print(f"applied: {', '.join(applied)}" if applied else "nothing to apply")
    elif args.action == "rollback":
        count = None if args.all else args.count
        rolled_back = migrations.rollback(dsn, count=count, lock_timeout=args.lock_timeout)
        console.print(f"rolled back: {', '.join(rolled_back)}" if rolled_back else "nothing to roll back")
    else:
        table = Table("migration", "applied")
        for migration_id, applied_ in migrations.status(dsn):
            table.add_row(migration_id, "yes" if applied_ else "[yellow]no[/yellow]")
        Console().print(table)
    return 0
