"""`bookshop keys create`: an API key for a user, who is created or given the role if need be."""

import argparse
from typing import Any

from bookshop.accounts import service
from bookshop.accounts.schemas import Role, UserUpdate
from bookshop.cli.common import Commands, console, run_with_connection
from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import act_as
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("keys", help="API keys")
    key_actions = p.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="issue a key for a user (created if missing); printed once")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["customer", "staff", "admin"])
    create.add_argument("--name", default="cli", help="a label for the key")
    p.set_defaults(handler=keys_create)


def keys_create(settings: Settings, args: argparse.Namespace) -> int:
    dsn = resolve_database_urls(settings).app
    role: Role = args.role

    async def work(conn: Any) -> str | None:
        async with conn.transaction():
            user = await service.get_user_by_email(conn, email=args.email)
            if user is None:
                name = args.email.split("@", 1)[0]
                user = await service.create_user(conn, email=args.email, name=name, role=role)
                console.print(f"created {role} {args.email}")
            elif user.role != role:
                try:
                    await service.update_user(conn, user_id=user.id, changes=UserUpdate(role=role))
                except service.LastAdmin:
                    return None
                console.print(f"changed the role of {args.email} from {user.role} to {role}")
            await act_as(conn, user_id=user.id, role=role)  # api_keys is private: act as its owner
            issued = await service.issue_api_key(conn, user_id=user.id, name=args.name, pepper=settings.api_key_pepper)
        return issued.key

    key = run_with_connection(settings, dsn, work)
    if key is None:
        console.print(f"[red]{args.email} is the last active admin[/red]: make another user an admin first")
        return 1
    console.print("the new API key (shown once; only its hash is stored):")
    print(key)
    return 0
