"""HTTP routes of the accounts context: thin controllers over the service."""

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from bookshop.accounts import service
from bookshop.accounts.schemas import (
    MAX_DOCUMENT_BYTES,
    SETTING_KEY,
    ApiKey,
    ApiKeyCreate,
    Deactivated,
    IssuedApiKey,
    Profile,
    ProfileIn,
    Registration,
    Setting,
    SettingIn,
    User,
    UserCreate,
    UserSettings,
    UserUpdate,
    check_document,
)
from bookshop.db.pool import act_as
from bookshop.http.auth import provide_optional_caller, require_account_access, require_admin
from bookshop.http.dependencies import Admin, CurrentCaller, Db, OptionalCaller, Staff
from bookshop.http.errors import ProblemError, field_error, found
from bookshop.http.pagination import Page, PageParams, provide_page_params
from bookshop.http.responses import created_or_replaced, upsert_responses
from bookshop.http.text import NO_NUL

UserSearch = Annotated[
    str | None, QueryParameter(min_length=1, max_length=200, pattern=NO_NUL, description="Matches name or email.")
]
PreferencesFilter = Annotated[
    str | None, QueryParameter(description='A JSON object the preferences must contain, e.g. {"newsletter":true}.')
]
SettingKeyPath = Annotated[str, PathParameter(pattern=SETTING_KEY, description="Setting key.")]


def _pepper(request: Request[Any, Any, Any]) -> str:
    pepper: str = request.app.state.settings.api_key_pepper
    return pepper


def _parse_prefers(raw: str | None) -> dict[str, Any] | None:
    """The preferences filter: a JSON object within the bounds preferences themselves have."""
    if raw is None:
        return None
    if len(raw.encode()) > MAX_DOCUMENT_BYTES:
        raise field_error("prefers", f"Longer than {MAX_DOCUMENT_BYTES:,} bytes")
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise field_error("prefers", "Expected a JSON object")
    try:
        check_document(value, field="prefers")
    except ValueError as error:
        raise field_error("prefers", str(error)) from None
    return value


def _last_admin(user_id: UUID) -> ProblemError:
    return ProblemError(
        409,
        "last-admin",
        detail=f"User {user_id} is the last active admin: make another user an admin first.",
    )


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post(
        "/",
        dependencies={"caller": Provide(provide_optional_caller)},
        summary="Register a user; the answer carries their first API key, shown this once.",
    )
    async def register(
        self, db: Db, caller: OptionalCaller, data: JSONBody[UserCreate], request: Request[Any, Any, Any]
    ) -> Registration:
        if data.role != "customer" and (caller is None or caller.role != "admin"):
            raise PermissionDeniedException(detail="Only an admin may create staff or admin users.")
        async with db.transaction() as conn:
            user = await service.create_user(
                conn, email=data.email, name=data.name, role=data.role, preferences=data.preferences
            )
            await act_as(conn, user_id=user.id, role=user.role)  # api_keys is private: act as its owner
            issued = await service.issue_api_key(conn, user_id=user.id, name="first key", pepper=_pepper(request))
        return Registration(user=user, api_key=issued.key)

    @get(
        "/",
        dependencies={"page_params": Provide(provide_page_params, sync_to_thread=False)},
        summary="List live users, newest first (staff).",
        opt={"json_parameters": ["prefers"]},  # for http/openapi.py
    )
    async def list_users(
        self,
        db: Db,
        staff: Staff,
        page_params: NamedDependency[PageParams],
        is_active: FromQuery[bool | None] = None,
        q: UserSearch = None,
        prefers: PreferencesFilter = None,
    ) -> Page[User]:
        wanted = _parse_prefers(prefers)
        async with db.connection() as conn:
            return await service.list_users(conn, params=page_params, is_active=is_active, q_text=q, prefers=wanted)

    @post(
        "/{user_id:uuid}/restore",
        status_code=200,
        summary="Restore a soft-deleted user (staff); 409 when their email was taken meanwhile.",
    )
    async def restore_user(self, db: Db, staff: Staff, user_id: FromPath[UUID]) -> User:
        async with db.transaction() as conn:
            return found(await service.restore_user(conn, user_id=user_id), f"No user {user_id}.")


class AccountController(Controller):
    """One user's account: yourself, or anyone's as staff (the caller dependency checks it)."""

    path = "/users/{user_id:uuid}"
    tags = ["users"]
    dependencies = {"caller": Provide(require_account_access)}

    @get("/", summary="One user (yourself, or any as staff).")
    async def get_user(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID]) -> User:
        async with db.connection() as conn:
            return found(await service.get_user(conn, user_id=user_id), f"No user {user_id}.")

    @patch("/", summary="Change some fields of a user; role and is_active need admin.")
    async def update_user(
        self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID], data: JSONBody[UserUpdate]
    ) -> User:
        if data.role is not msgspec.UNSET or data.is_active is not msgspec.UNSET:
            require_admin(caller)
        try:
            async with db.transaction() as conn:
                user = await service.update_user(conn, user_id=user_id, changes=data)
        except service.LastAdmin:
            raise _last_admin(user_id) from None
        return found(user, f"No user {user_id}.")

    @delete(
        "/",
        summary="Soft-delete a user: gone from reads, email free again, restorable; 409 for the last active admin.",
    )
    async def delete_user(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID]) -> None:
        try:
            async with db.transaction() as conn:
                deleted = await service.soft_delete_user(conn, user_id=user_id)
        except service.LastAdmin:
            raise _last_admin(user_id) from None
        found(deleted, f"No user {user_id}.")

    @get("/profile", summary="A user's profile.")
    async def get_profile(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID]) -> Profile:
        async with db.connection() as conn:
            profile = await service.get_profile(conn, caller=caller, user_id=user_id)
        return found(profile, f"User {user_id} has no profile.")

    @put(
        "/profile",
        summary="Create or replace a user's profile: 201 when new, 200 after.",
        responses=upsert_responses(Profile),
    )
    async def put_profile(
        self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID], data: JSONBody[ProfileIn]
    ) -> Response[Profile]:
        async with db.transaction(caller) as conn:
            stored = await service.put_profile(
                conn, user_id=user_id, bio=data.bio, location=data.location, website=data.website
            )
        profile, created = found(stored, f"No user {user_id}.")
        return created_or_replaced(profile, created=created)

    @delete("/profile", summary="Delete a user's profile.")
    async def delete_profile(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID]) -> None:
        async with db.transaction(caller) as conn:
            found(await service.delete_profile(conn, user_id=user_id), f"User {user_id} has no profile.")

    @get("/settings", summary="All of a user's settings as one object.")
    async def get_settings(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID]) -> UserSettings:
        async with db.connection() as conn:
            settings = await service.get_settings(conn, caller=caller, user_id=user_id)
        return UserSettings(settings=found(settings, f"No user {user_id}."))

    @put(
        "/settings/{key:str}",
        summary="Set one setting in a single atomic upsert; created says whether it is new (201) or not (200).",
        responses=upsert_responses(Setting),
    )
    async def put_setting(
        self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID], key: SettingKeyPath, data: JSONBody[SettingIn]
    ) -> Response[Setting]:
        async with db.transaction(caller) as conn:
            setting = await service.put_setting(conn, user_id=user_id, key=key, value=data.value)
        setting = found(setting, f"No user {user_id}.")
        return created_or_replaced(setting, created=setting.created)

    @delete("/settings/{key:str}", summary="Remove one setting.")
    async def delete_setting(self, db: Db, caller: CurrentCaller, user_id: FromPath[UUID], key: SettingKeyPath) -> None:
        async with db.transaction(caller) as conn:
            found(await service.delete_setting(conn, user_id=user_id, key=key), f"Setting {key!r} is not set.")


class MeController(Controller):
    path = "/me"
    tags = ["me"]

    @get("/", summary="The caller's own account.")
    async def me(self, db: Db, caller: CurrentCaller) -> User:
        async with db.connection() as conn:  # 404 when deleted between authentication and now
            return found(await service.get_user(conn, user_id=caller.user_id), f"No user {caller.user_id}.")

    @get("/api-keys", summary="The caller's API keys, without secrets.")
    async def list_keys(self, db: Db, caller: CurrentCaller) -> list[ApiKey]:
        async with db.connection() as conn:
            return await service.list_api_keys(conn, caller=caller, user_id=caller.user_id)

    @post("/api-keys", summary="Issue another API key; the key is shown this once.")
    async def issue_key(
        self,
        db: Db,
        caller: CurrentCaller,
        request: Request[Any, Any, Any],
        data: JSONBody[ApiKeyCreate | None] = None,
    ) -> IssuedApiKey:
        name = data.name if data is not None else ""
        async with db.transaction(caller) as conn:
            return await service.issue_api_key(conn, user_id=caller.user_id, name=name, pepper=_pepper(request))

    @delete(
        "/api-keys/{key_id:uuid}",
        status_code=200,
        summary="Revoke one of the caller's keys; it fails at once. 409 for the caller's last live key.",
    )
    async def revoke_key(self, db: Db, caller: CurrentCaller, key_id: FromPath[UUID]) -> ApiKey:
        try:
            async with db.transaction(caller) as conn:
                revoked = await service.revoke_api_key(conn, user_id=caller.user_id, key_id=key_id)
        except service.LastApiKey:
            raise ProblemError(
                409,
                "last-api-key",
                detail=f"API key {key_id} is your last live key: issue another before revoking it.",
            ) from None
        return found(revoked, f"You have no API key {key_id}.")


class AdminUserController(Controller):
    path = "/admin/users"
    tags = ["admin"]

    @post(
        "/deactivate-inactive",
        status_code=200,
        summary="Deactivate, in one statement, users not seen for `days` days; returns how many.",
    )
    async def deactivate_inactive(
        self,
        db: Db,
        admin: Admin,
        request: Request[Any, Any, Any],
        days: Annotated[int, QueryParameter(ge=1, le=36_500, description="Days of inactivity.")],
    ) -> Deactivated:
        # Key use is written off the request's path (accounts/key_use.py): write what this process
        # noted first, so whoever just signed in here, the caller included, counts as seen.
        await request.app.state.key_use.flush()
        async with db.transaction() as conn:
            count = await service.deactivate_inactive_users(conn, days=days)
        return Deactivated(deactivated=count)
