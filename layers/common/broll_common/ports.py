"""One factory per outside dependency (a "port"): the real adapter, or a fake a test hands in.

The cookbook's `get_dal_handler` pattern: logic asks the port for its dependency at each
use (`get_coordination()`), never builds one itself, so a unit test swaps the whole outside
world with `with port.use(fake): ...` and no AWS stub. Adapters are cheap to build (boto3
clients are cached in aws.py) and read settings at each use, so tests that change the
environment need no extra reset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Port(Generic[T]):
    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._fake: T | None = None

    def __call__(self) -> T:
        return self._fake if self._fake is not None else self._build()

    @contextmanager
    def use(self, fake: T) -> Iterator[T]:
        """Hand in a fake for the duration of a block (tests)."""
        previous, self._fake = self._fake, fake
        try:
            yield fake
        finally:
            self._fake = previous
