"""Accounts as the tests hold them: a user and the API key that authenticates as them."""

import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from bookshop.accounts.schemas import Role

TEST_PEPPER = "pepper-for-the-test-suite-only"


class Account(msgspec.Struct):
    user_id: uuid.UUID
    email: str
    role: Role
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


# make_account's factory: `await make_account(role="customer", email=None, **user_fields)`.
AccountFactory = Callable[..., Any]
