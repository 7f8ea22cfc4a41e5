"""Datasets on disk: `train.jsonl`, `heldout.jsonl` and a `manifest.json` of their hashes.

Each file is written to a temporary name and renamed into place, so a crash never leaves a
half-written file under the real name. Reading checks every example against its recorded
hash and the manifest, so a hand-edited or truncated file is refused, not trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import NotFound, RagError
from finetune.dataset import BuildReport, Dataset
from finetune.examples import Example, content_hash

MANIFEST = "manifest.json"
SPLITS = ("train", "heldout")


def write_dataset(folder: Path, dataset: Dataset) -> dict[str, Any]:
    """Write the dataset into `folder` (created if needed); returns the manifest written."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": 1, "report": dataset.report.model_dump(), "files": {}}
    for split in SPLITS:
        examples: list[Example] = getattr(dataset, split)
        body = "".join(e.model_dump_json() + "\n" for e in examples).encode()
        _write(folder / f"{split}.jsonl", body)
        manifest[split] = [e.sha256 for e in examples]
        manifest["files"][f"{split}.jsonl"] = hashlib.sha256(body).hexdigest()
    _write(folder / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode())
    return manifest


def read_dataset(folder: Path) -> Dataset:
    """The dataset written by `write_dataset`; RagError when it does not match its manifest."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound(f"no dataset manifest at {folder / MANIFEST}") from exc
    splits = {split: _read_split(folder / f"{split}.jsonl") for split in SPLITS}
    for split, examples in splits.items():
        if [e.sha256 for e in examples] != manifest.get(split):
            raise RagError(f"{folder / split}.jsonl does not match {MANIFEST}")
    report = BuildReport.model_validate(manifest.get("report", {}))
    return Dataset(train=splits["train"], heldout=splits["heldout"], report=report)


def read_examples(folders: Sequence[Path]) -> list[Example]:
    """Every example of several datasets (train and held-out): a replay pool for a new run."""
    examples: list[Example] = []
    for folder in folders:
        dataset = read_dataset(folder)
        examples += [*dataset.train, *dataset.heldout]
    return examples


def _read_split(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            example = Example.model_validate_json(line)
            if content_hash(example.kind, example.prompt, example.completion) != example.sha256:
                raise RagError(f"{path} line {number}: content does not match its sha256")
            examples.append(example)
    return examples


def _write(path: Path, body: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
