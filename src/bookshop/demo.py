"""A small demo data set, seeded on the first start of the embedded database.

API keys are stored only as hashes, so the plaintext demo keys are written to a local file
(git-ignored) the moment they are made; that file is the only place they can be read again.
"""

import random
from pathlib import Path
from typing import Any

import msgspec

from bookshop.accounts import service
from bookshop.accounts.schemas import Role
from bookshop.db.pool import Connection, act_as
from bookshop.db.queries import queries

KEYS_FILE = Path(".demo-keys.txt")

STAFF: list[tuple[str, str, Role]] = [
    ("admin@bookshop.example", "Ada Admin", "admin"),
    ("staff@bookshop.example", "Sam Staff", "staff"),
    ("reader@bookshop.example", "Rita Reader", "customer"),
]
FIRST_NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Jun", "Kofi", "Lena"]
GENRES = ["fantasy", "history", "poetry", "science", "crime", "travel"]


class DemoKey(msgspec.Struct):
    email: str
    role: str
    key: str


async def seed(conn: Connection, *, pepper: str, customers: int = 24) -> list[DemoKey]:
    """Creates the demo accounts in one transaction; returns the keys of the three named ones."""
    rng = random.Random(7)  # noqa: S311 - demo data, the same on every machine
    keys: list[DemoKey] = []
    async with conn.transaction():
        await act_as(conn, user_id=None, role="admin")  # seeding writes every user's private rows
        for email, name, role in STAFF:
            user = await service.create_user(conn, email=email, name=name, role=role)
            issued = await service.issue_api_key(conn, user_id=user.id, name="demo", pepper=pepper)
            keys.append(DemoKey(email=email, role=role, key=issued.key))
        for n in range(customers):
            first = FIRST_NAMES[n % len(FIRST_NAMES)]
            preferences: dict[str, Any] = {
                "newsletter": rng.random() < 0.5,
                "genres": rng.sample(GENRES, k=rng.randint(1, 3)),
            }
            user = await service.create_user(
                conn, email=f"{first.lower()}.{n}@readers.example", name=f"{first} Reader {n}", preferences=preferences
            )
            if n % 3 == 0:
                await service.put_profile(
                    conn,
                    user_id=user.id,
                    bio=f"{first} reads mostly {preferences['genres'][0]}.",
                    location=None,
                    website=None,
                )
            await service.put_setting(conn, user_id=user.id, key="theme", value=rng.choice(["light", "dark"]))
    return keys


async def seed_if_empty(conn: Connection, *, pepper: str, keys_file: Path = KEYS_FILE) -> list[DemoKey] | None:
    """Seeds and writes the keys file when there are no users yet; None when it did nothing.

    Two seeds at once (two first starts of `bookshop serve`) take turns on a lock held by the
    transaction, and the second finds the first one's users: one data set, and no unique
    violation for the loser."""
    async with conn.transaction():
        await queries.accounts.lock_demo_seed(conn)
        if await queries.accounts.has_users(conn):
            return None
        keys = await seed(conn, pepper=pepper)
    write_keys(keys, keys_file)
    return keys


def write_keys(keys: list[DemoKey], keys_file: Path) -> None:
    lines = ["# bookshop demo API keys: use as 'Authorization: Bearer <key>'"]
    lines += [f"{k.role:<8} {k.email:<26} {k.key}" for k in keys]
    keys_file.write_text("\n".join(lines) + "\n")
    keys_file.chmod(0o600)
