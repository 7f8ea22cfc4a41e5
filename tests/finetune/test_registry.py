"""The adapter registry: immutable versions, promotion and rollback, crash safety."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from core.errors import Conflict, InvalidRequest, NotFound
from finetune.manifest import RunRecord, fingerprint
from finetune.registry import AdapterRegistry


@pytest.fixture
def base(tmp_path) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    return folder


def adapter(tmp_path: Path, name: str = "trained") -> Path:
    """An adapter folder as peft writes it (the registry does not read the weights)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    (folder / "adapter_model.safetensors").write_bytes(os.urandom(256))
    return folder


def create(registry: AdapterRegistry, source: Path, base: Path, parent=None, **extra):
    arguments = {
        "base_model": base, "parent": parent, "data": {"train": ["a1"], "heldout": ["b2"]},
        "settings": {"lora": {"rank": 8}}, "metrics": {"perplexity": 12.5},
        "gate": {"promote": True}, "eval_report": {"heldout": {"loss": 2.5}}, **extra,
    }  # fmt: skip
    return registry.create_version(source, **arguments)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_versions_are_complete_immutable_folders(tmp_path, base):
    registry = AdapterRegistry(tmp_path / "reg")
    source = adapter(tmp_path)
    info = create(registry, source, base)
    assert info.version.startswith("v0001-")
    assert info.status == "candidate"
    files = sorted(p.name for p in info.path.iterdir())
    assert files == [
        "adapter_config.json", "adapter_model.safetensors", "eval.json", "manifest.json"
    ]  # fmt: skip
    assert (info.path / "adapter_model.safetensors").read_bytes() == (
        source / "adapter_model.safetensors"
    ).read_bytes()
    assert json.loads((info.path / "eval.json").read_text()) == {"heldout": {"loss": 2.5}}
    manifest = info.manifest
    assert manifest.base_model == str(base)
    assert manifest.base_model_fingerprint == fingerprint(base)
    assert manifest.parent is None
    assert manifest.data == {"train": ["a1"], "heldout": ["b2"]}
    assert manifest.metrics == {"perplexity": 12.5}
    assert set(manifest.libraries) >= {"torch", "transformers", "peft"}
    assert manifest.created_at.tzinfo is not None
    assert all(not p.stat().st_mode & 0o222 for p in info.path.iterdir())  # read-only


def test_names_sort_in_creation_order_and_survive_reopening(tmp_path, base):
    registry = AdapterRegistry(tmp_path / "reg")
    first = create(registry, adapter(tmp_path, "a"), base)
    second = create(registry, adapter(tmp_path, "b"), base, parent=first.version)
    third = create(AdapterRegistry(tmp_path / "reg"), adapter(tmp_path, "c"), base)
    names = [v.version for v in AdapterRegistry(tmp_path / "reg").list_versions()]
    assert names == sorted(names) == [first.version, second.version, third.version]
    assert [name[:5] for name in names] == ["v0001", "v0002", "v0003"]
    assert second.manifest.parent == first.version
    with pytest.raises(NotFound):
        create(registry, adapter(tmp_path, "d"), base, parent="v0099-20260101T0000Z")
    with pytest.raises(NotFound):
        registry.get("v0042-20260101T0000Z")
    with pytest.raises(NotFound):
        registry.get("../../etc")


def test_promote_and_rollback(tmp_path, base):
    registry = AdapterRegistry(tmp_path / "reg")
    one, two, three = (create(registry, adapter(tmp_path, n), base).version for n in "abc")
    assert registry.current() is None
    registry.set_current(one)
    registry.set_current(two)
    current = registry.current()
    assert current is not None
    assert current.version == two
    assert [(v.version, v.status) for v in registry.list_versions()] == [
        (one, "retired"), (two, "promoted"), (three, "candidate")
    ]  # fmt: skip
    registry.mark(three, "rejected")
    assert registry.get(three).status == "rejected"
    assert registry.rollback() == one
    assert registry.current().version == one  # type: ignore[union-attr]
    assert registry.get(two).status == "retired"
    assert registry.get(one).status == "promoted"
    with pytest.raises(Conflict, match="no previous"):
        registry.rollback()
    with pytest.raises(Conflict, match="in service"):
        registry.mark(one, "rejected")
    with pytest.raises(InvalidRequest):
        registry.mark(three, "promoted")
    with pytest.raises(NotFound):
        registry.set_current("v0042-20260101T0000Z")


def test_runs_log(tmp_path):
    registry = AdapterRegistry(tmp_path / "reg")
    started = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)
    registry.record_run(RunRecord(id="r1", started=started, status="running"))
    registry.record_run(
        RunRecord(id="r1", started=started, finished=started, status="rejected", message="worse")
    )
    registry.record_run(RunRecord(id="r2", started=started, status="failed", message="oom"))
    runs = AdapterRegistry(tmp_path / "reg").runs()
    assert [(r.id, r.status, r.message) for r in runs] == [
        ("r1", "rejected", "worse"), ("r2", "failed", "oom")
    ]  # fmt: skip


def test_a_failure_while_writing_leaves_the_registry_unchanged(tmp_path, base):
    root = tmp_path / "reg"
    registry = AdapterRegistry(root)
    kept = create(registry, adapter(tmp_path, "a"), base)
    registry.set_current(kept.version)
    before = snapshot(root)
    # The eval report cannot be serialised: the write step raises after copying the weights.
    with pytest.raises(TypeError):
        create(registry, adapter(tmp_path, "b"), base, eval_report={"bad": object()})
    assert snapshot(root) == before
    assert [v.version for v in registry.list_versions()] == [kept.version]
    assert not list((root / "adapters").glob(".tmp-*"))
    assert create(registry, adapter(tmp_path, "c"), base).version.startswith("v0002-")


def test_unreadable_adapter_files_abort_the_version(tmp_path, base):
    root = tmp_path / "reg"
    registry = AdapterRegistry(root)
    source = adapter(tmp_path)
    os.mkfifo(source / "pipe")  # copying a named pipe fails part-way through the copy
    before = snapshot(root)
    with pytest.raises(shutil.Error, match="pipe"):
        create(registry, source, base)
    assert snapshot(root) == before
    assert registry.list_versions() == []


def test_leftovers_of_a_killed_process_are_ignored_and_cleaned(tmp_path, base):
    root = tmp_path / "reg"
    registry = AdapterRegistry(root)
    kept = create(registry, adapter(tmp_path), base)
    partial = root / "adapters" / ".tmp-1234"
    partial.mkdir()
    (partial / "adapter_config.json").write_text("{")
    (root / ".registry.json.abcd.tmp").write_text('{"versions": {')
    assert [v.version for v in registry.list_versions()] == [kept.version]
    reopened = AdapterRegistry(root)
    assert not partial.exists()
    assert not (root / ".registry.json.abcd.tmp").exists()
    assert [v.version for v in reopened.list_versions()] == [kept.version]
    assert reopened.get(kept.version).status == "candidate"


def test_a_version_whose_registration_was_cut_short_is_a_candidate(tmp_path, base):
    root = tmp_path / "reg"
    registry = AdapterRegistry(root)
    version = create(registry, adapter(tmp_path), base).version
    (root / "registry.json").unlink()  # as if the process died between rename and state write
    (info,) = AdapterRegistry(root).list_versions()
    assert (info.version, info.status) == (version, "candidate")


def test_bad_inputs_are_refused(tmp_path, base):
    registry = AdapterRegistry(tmp_path / "reg")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidRequest, match=r"adapter_config\.json"):
        create(registry, empty, base)
    clash = adapter(tmp_path, "clash")
    (clash / "manifest.json").write_text("{}")
    with pytest.raises(InvalidRequest, match=r"manifest\.json"):
        create(registry, clash, base)
    with pytest.raises(InvalidRequest, match="candidate"):
        create(registry, adapter(tmp_path), base, status="promoted")
    assert registry.list_versions() == []
