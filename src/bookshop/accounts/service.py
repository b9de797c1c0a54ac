"""The accounts context's operations over sql/accounts/ and sql/auth/: users, profiles,
settings, API keys and authentication."""

from typing import Any
from uuid import UUID

import msgspec

from bookshop.accounts import api_keys
from bookshop.accounts.emails import email_key
from bookshop.accounts.key_use import KeyUseRecorder
from bookshop.accounts.schemas import ApiKey, Caller, IssuedApiKey, Profile, Role, Setting, User, UserUpdate
from bookshop.db.params import update_params
from bookshop.db.pool import Actor, Connection
from bookshop.db.queries import queries
from bookshop.db.rows import upserted
from bookshop.http.pagination import Page, PageParams

q = queries.accounts


class LastAdmin(Exception):
    """The change would delete, deactivate or demote the last live, active admin."""


class LastApiKey(Exception):
    """The key is its owner's last live one: revoking it would lock them out."""


async def create_user(
    conn: Connection, *, email: str, name: str, role: Role = "customer", preferences: dict[str, Any] | None = None
) -> User:
    row = await q.create_user(
        conn, email=email, email_key=email_key(email), name=name, role=role, preferences=preferences or {}
    )
    return User(**row)


async def get_user(conn: Connection, *, user_id: UUID) -> User | None:
    row = await q.get_user(conn, id=user_id)
    return None if row is None else User(**row)


async def get_user_by_email(conn: Connection, *, email: str) -> User | None:
    """The live user with this email in any case or look-alike form (by its email_key)."""
    row = await q.get_user_by_email(conn, email_key=email_key(email))
    return None if row is None else User(**row)


async def update_user(conn: Connection, *, user_id: UUID, changes: UserUpdate) -> User | None:
    """The changed user; None when there is no such live user.

    Raises LastAdmin when the change would deactivate or demote the last live, active admin.
    """
    params = update_params(changes)
    new_key = None if changes.email is msgspec.UNSET else email_key(changes.email)
    row = await q.update_user(conn, id=user_id, email_key=new_key, **params)
    if row is None:
        await _refused_or_missing(conn, user_id=user_id)
        return None
    return User(**row)


async def soft_delete_user(conn: Connection, *, user_id: UUID) -> bool:
    """Whether a live user was deleted. Raises LastAdmin for the last live, active admin."""
    if await q.soft_delete_user(conn, id=user_id) is not None:
        return True
    await _refused_or_missing(conn, user_id=user_id)
    return False


async def _refused_or_missing(conn: Connection, *, user_id: UUID) -> None:
    """After a change to a user found no row: raises LastAdmin when the user is live, so the
    admin rule refused it. This statement sees what committed since the change's (which waited
    for the admins' locks), so a user deleted meanwhile reads as missing, not as refused."""
    if await q.get_user(conn, id=user_id) is not None:
        raise LastAdmin


async def restore_user(conn: Connection, *, user_id: UUID) -> User | None:
    row = await q.restore_user(conn, id=user_id)
    return None if row is None else User(**row)


async def list_users(
    conn: Connection,
    *,
    params: PageParams,
    is_active: bool | None = None,
    q_text: str | None = None,
    prefers: dict[str, Any] | None = None,
) -> Page[User]:
    rows = [
        row
        async for row in q.list_users(
            conn,
            is_active=is_active,
            q=q_text,
            prefers=prefers,
            limit=params.per_page,
            offset=params.offset,
            exact_limit=params.exact_total_limit,
        )
    ]
    # The query always returns a row carrying the total; past the last page its user is NULL.
    counted = rows[0]
    items = [
        User(**{k: v for k, v in row.items() if k not in ("total", "total_exact")})
        for row in rows
        if row["id"] is not None
    ]
    return Page.of(items, params=params, total=counted["total"], total_exact=counted["total_exact"])


async def deactivate_inactive_users(conn: Connection, *, days: int) -> int:
    count: int = await q.deactivate_inactive_users(conn, days=days)
    return count


async def get_profile(conn: Connection, *, caller: Actor, user_id: UUID) -> Profile | None:
    """The profile, read for `caller` in one statement (no transaction needed)."""
    row = await q.get_profile(conn, caller_id=caller.user_id, caller_role=caller.role, user_id=user_id)
    return None if row is None else Profile(**row)


async def put_profile(
    conn: Connection, *, user_id: UUID, bio: str, location: str | None, website: str | None
) -> tuple[Profile, bool] | None:
    """The stored profile and whether it was created; None when the user does not exist."""
    row = await q.put_profile(conn, user_id=user_id, bio=bio, location=location, website=website)
    return upserted(row, Profile)


async def delete_profile(conn: Connection, *, user_id: UUID) -> bool:
    return await q.delete_profile(conn, user_id=user_id) is not None


async def get_settings(conn: Connection, *, caller: Actor, user_id: UUID) -> dict[str, Any] | None:
    """All settings as key → value, read for `caller` in one statement (no transaction
    needed); None when the user does not exist."""
    row = await q.get_settings(conn, caller_id=caller.user_id, caller_role=caller.role, user_id=user_id)
    return None if row is None else dict(row["settings"])


async def put_setting(conn: Connection, *, user_id: UUID, key: str, value: Any) -> Setting | None:
    row = await q.put_setting(conn, user_id=user_id, key=key, value=value)
    return None if row is None else Setting(**row)


async def delete_setting(conn: Connection, *, user_id: UUID, key: str) -> bool:
    return await q.delete_setting(conn, user_id=user_id, key=key) is not None


async def issue_api_key(conn: Connection, *, user_id: UUID, name: str, pepper: str) -> IssuedApiKey:
    new_key = api_keys.generate(pepper=pepper)
    row = await q.create_api_key(
        conn, user_id=user_id, prefix=new_key.prefix, secret_hash=new_key.secret_hash, name=name
    )
    return IssuedApiKey(key=new_key.token, api_key=ApiKey(**row))


async def list_api_keys(conn: Connection, *, caller: Actor, user_id: UUID) -> list[ApiKey]:
    """The user's keys, read for `caller` in one statement (no transaction needed)."""
    rows = q.list_api_keys(conn, caller_id=caller.user_id, caller_role=caller.role, user_id=user_id)
    return [ApiKey(**row) async for row in rows]


async def revoke_api_key(conn: Connection, *, user_id: UUID, key_id: UUID) -> ApiKey | None:
    """The revoked key; None when the user has no such key (or may not see it).

    Raises LastApiKey when it is the user's last live key.
    """
    row = await q.revoke_api_key(conn, id=key_id, user_id=user_id)
    if row is not None:
        return ApiKey(**row)
    if await q.get_api_key(conn, id=key_id, user_id=user_id) is not None:
        raise LastApiKey
    return None


class InactiveAccount(Exception):
    """The key is valid but its owner has been deactivated."""


async def authenticate(
    conn: Connection, *, token: str, pepper: str, key_use: KeyUseRecorder | None = None
) -> Caller | None:
    """The caller a presented key belongs to, or None for an unknown, wrong or revoked key.
    It only reads; the use of a good key is noted in `key_use`, which writes it later, off the
    request's path (accounts/key_use.py).

    Raises InactiveAccount for a good key of a deactivated user.
    """
    parsed = api_keys.parse(token)
    if parsed is None:
        api_keys.matches(token, None, pepper=pepper)  # same work as a wrong key: no timing hint
        return None
    row = await q.find_api_key(conn, prefix=parsed.prefix)
    if not api_keys.matches(parsed.secret, None if row is None else row["secret_hash"], pepper=pepper):
        return None
    assert row is not None
    if not row["is_active"]:
        raise InactiveAccount
    caller = Caller(user_id=row["user_id"], role=row["role"], key_id=row["id"])
    if key_use is not None:
        key_use.note(caller, last_used_at=row["last_used_at"])
    return caller
