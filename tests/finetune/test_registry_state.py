"""The registry's state in each store: `registry.json`, SQLite and the real PostgreSQL.

In services mode the scheduler and a `kb finetune` on another host share the state through
the metadata store; these tests hold every store to the same behaviour, concurrent writers
included, and check that an embedded `registry.json` is taken over once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.db.engine import Database
from core.db.migrate import upgrade
from core.errors import Conflict
from finetune.manifest import RunRecord
from finetune.registry import AdapterRegistry, open_registry
from finetune.settings import FinetuneSettings
from finetune.state import STATE, DatabaseState
from tests.finetune.test_registry import adapter, create
from tests.support.databases import postgres_database

Opener = Callable[[], AdapterRegistry]


@pytest.fixture(params=["file", "sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a registry on one shared root and one shared store, as another process would."""
    root = tmp_path / "finetune"
    if request.param == "file":
        yield lambda: AdapterRegistry(root)
        return

    def on(url: str) -> Opener:
        return lambda: open_registry(
            FinetuneSettings(_env_file=None, adapters_dir=root, database_url=url)
        )

    if request.param == "sqlite":
        yield on(f"sqlite:///{tmp_path / 'metadata.sqlite'}")
        return
    with postgres_database() as url:
        yield on(url)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    return folder


def run(number: int) -> RunRecord:
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    return RunRecord(id=f"run-{number:03d}", started=now, status="running", trigger="manual")


def test_promotion_rollback_and_runs_seen_by_another_process(opener, tmp_path, base):
    with opener() as registry:
        one = create(registry, adapter(tmp_path, "a"), base).version
        two = create(registry, adapter(tmp_path, "b"), base).version
        registry.set_current(one)
        registry.set_current(two)
        registry.record_run(run(1))
        registry.record_run(run(1).model_copy(update={"status": "ok"}))
    with opener() as other:
        assert other.current().version == two
        assert other.previous().version == one
        assert [(r.id, r.status) for r in other.runs()] == [("run-001", "ok")]
        assert other.rollback() == one
        with pytest.raises(Conflict, match="in service"):
            other.mark(one, "rejected")
        other.mark(two, "rejected")
    with opener() as again:
        assert again.current().version == one
        assert again.previous() is None
        assert [v.status for v in again.list_versions()] == ["promoted", "rejected"]


def test_concurrent_writers_lose_nothing(opener):
    registries = [opener(), opener()]

    def record(registry: AdapterRegistry, start: int) -> None:
        for number in range(start, start + 15):
            registry.record_run(run(number))

    threads = [threading.Thread(target=record, args=(r, 100 * i)) for i, r in enumerate(registries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with opener() as registry:
        assert len(registry.runs()) == 30
    for registry in registries:
        registry.close()


def test_an_embedded_registry_json_is_taken_over_once(tmp_path, base):
    root = tmp_path / "finetune"
    with AdapterRegistry(root) as embedded:
        version = create(embedded, adapter(tmp_path, "a"), base).version
        embedded.set_current(version)
        embedded.record_run(run(7))
    url = f"sqlite:///{tmp_path / 'metadata.sqlite'}"
    settings = FinetuneSettings(_env_file=None, adapters_dir=root, database_url=url)
    with open_registry(settings) as shared:
        assert shared.current().version == version  # type: ignore[union-attr]
        assert [r.id for r in shared.runs()] == ["run-007"]
    assert not (root / STATE).exists()
    assert (root / f"{STATE}.imported").exists()
    db = Database(url)
    upgrade(db)
    assert DatabaseState(db).load().current == version
    db.close()
