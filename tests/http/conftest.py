from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis import redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test's own: the shared store of the rate limit."""
    with redis_server(tmp_path / "redis") as url:
        yield url
