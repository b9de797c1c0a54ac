"""Request and response payloads of the accounts context."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from bookshop.http.bodies import JsonObject, JsonSetting, check_json_document
from bookshop.http.text import EMAIL, END, NO_NUL, SHOWN, WEB_ADDRESS

Role = Literal["customer", "staff", "admin"]
STAFF_ROLES: frozenset[str] = frozenset({"staff", "admin"})
SETTING_KEY = rf"^[a-z][a-z0-9_.-]{{0,63}}{END}"

Email = Annotated[
    str,
    msgspec.Meta(max_length=254, pattern=EMAIL, examples=["reader@example.com"]),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=SHOWN)]
Bio = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
SettingKey = Annotated[str, msgspec.Meta(pattern=SETTING_KEY)]
KeyName = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]

# What one user's preferences, or one setting's value, may hold: 16 KiB as compact JSON, 16
# levels deep. The database bounds them too (migration 0019), on their jsonb text form.
MAX_DOCUMENT_BYTES = 16 * 1024
MAX_DOCUMENT_DEPTH = 16


def check_document(value: Any, *, field: str) -> None:
    """ValueError naming `field` for a document past the bounds above."""
    check_json_document(value, field=field, max_depth=MAX_DOCUMENT_DEPTH, max_bytes=MAX_DOCUMENT_BYTES)


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    name: Name
    role: Role = "customer"
    preferences: JsonObject = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_document(self.preferences, field="preferences")


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change. role and is_active are for admins."""

    email: Email | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    preferences: JsonObject | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.preferences is not msgspec.UNSET:
            check_document(self.preferences, field="preferences")


class User(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    name: str
    role: Role
    is_active: bool
    preferences: dict[str, Any]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApiKey(msgspec.Struct, kw_only=True):
    id: UUID
    prefix: str
    name: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class IssuedApiKey(msgspec.Struct, kw_only=True):
    """A new key: `key` is shown this once and cannot be recovered later."""

    key: str
    api_key: ApiKey


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: KeyName = ""


class Registration(msgspec.Struct, kw_only=True):
    """A new user and their first API key, shown this once."""

    user: User
    api_key: str


class ProfileIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bio: Bio = ""
    location: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None
    website: Annotated[str, msgspec.Meta(max_length=500, pattern=WEB_ADDRESS)] | None = None


class Profile(msgspec.Struct, kw_only=True):
    user_id: UUID
    bio: str
    location: str | None
    website: str | None
    created_at: datetime
    updated_at: datetime


class SettingIn(msgspec.Struct, forbid_unknown_fields=True):
    value: JsonSetting

    def __post_init__(self) -> None:
        if self.value is None:
            raise ValueError("`value` must be a JSON value other than null (DELETE removes a setting)")
        check_document(self.value, field="value")


class Setting(msgspec.Struct, kw_only=True):
    key: str
    value: Any
    created: bool
    created_at: datetime
    updated_at: datetime


class UserSettings(msgspec.Struct):
    settings: dict[str, Any]


class Deactivated(msgspec.Struct):
    deactivated: int


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the owner of the API key presented."""

    user_id: UUID
    role: Role
    key_id: UUID

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES
