"""One server of engine stand-ins per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.search_engines import EngineStandins
from tests.support.server import serve


@pytest.fixture(scope="module")
def standins_server() -> Iterator[tuple[EngineStandins, str]]:
    standins = EngineStandins()
    with serve(standins.app()) as url:
        yield standins, url


@pytest.fixture
def standins(standins_server: tuple[EngineStandins, str]) -> EngineStandins:
    standins_server[0].reset()
    return standins_server[0]


@pytest.fixture
def standins_url(standins_server: tuple[EngineStandins, str]) -> str:
    return standins_server[1]
