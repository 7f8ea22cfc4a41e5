"""Ingest fixtures: the Tika stand-in on loopback, a real Tika when TIKA_URL names one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import EVAL_DIR, EVAL_MISSING, TIKA_URL
from tests.support.server import serve
from tests.support.tika_standin import create_tika_standin

# The stand-in always runs; a real Tika joins only when TIKA_URL names one.
TIKA_TARGETS = ["standin"] + (
    [pytest.param("real", marks=pytest.mark.integration)] if TIKA_URL else []
)


@dataclass(frozen=True)
class Standin:
    """The running stand-in: its app (for `app.state.hits`) and its base URL."""

    app: Any
    url: str


@pytest.fixture(scope="session")
def tika_standin() -> Iterator[Standin]:
    app = create_tika_standin()
    with serve(app) as url:
        yield Standin(app, url)


@pytest.fixture(params=TIKA_TARGETS)
def tika_url(request: pytest.FixtureRequest, tika_standin: Standin) -> str:
    """Base URL of each Tika the shared tests run against."""
    if request.param == "standin":
        return tika_standin.url
    assert TIKA_URL is not None
    return TIKA_URL


@pytest.fixture(scope="session")
def eval_documents() -> Path:
    """`../shared/eval/documents`, or a skip saying it is absent."""
    documents = EVAL_DIR / "documents"
    if not documents.is_dir():
        pytest.skip(EVAL_MISSING)
    return documents
