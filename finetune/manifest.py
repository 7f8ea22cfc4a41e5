"""What the registry records: each version's manifest, the registry state, and the runs log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["candidate", "rejected", "promoted", "retired"]
RunStatus = Literal["running", "ok", "rejected", "failed", "skipped"]
LIBRARIES = ("torch", "transformers", "peft", "tokenizers", "knowledge-assistant")
_VERSION = re.compile(r"^v(\d{4,})-\d{8}T\d{4}Z$")


class Manifest(BaseModel):
    """Everything needed to know how an adapter version was made; written once, never changed."""

    version: str
    created_at: dt.datetime
    base_model: str = Field(description="Path of the base model folder it was trained on.")
    base_model_fingerprint: str = Field(description="sha256 of the base model's config.json.")
    parent: str | None = Field(description="Version it was warm-started from, if any.")
    data: dict[str, Any] = Field(description="Dataset manifest: example hashes and counts.")
    settings: dict[str, Any]
    metrics: dict[str, Any] = Field(description="Training and held-out figures.")
    gate: dict[str, Any] | None = Field(description="The gate's decision, when it ran.")
    libraries: dict[str, str]


class VersionEntry(BaseModel):
    """A version's mutable part: its status."""

    status: Status


class Cursor(BaseModel):
    """Where collection stands: what a run has consumed, so the next one takes what is newer.

    Documents are taken in `ingested_at` order; `documents_seen` holds the `kb/id` of those
    taken at exactly `documents_after`, so that one ingested in that same second is not lost.
    """

    documents_after: dt.datetime | None = Field(
        None, description="Documents ingested after this were not consumed yet."
    )
    documents_seen: list[str] = Field(
        default_factory=list, description="`kb/id` of documents consumed at documents_after."
    )
    feedback_after: int = Field(0, description="Rated answers with a higher id are new.")


class RunRecord(BaseModel):
    """One scheduled or manual run, whatever its outcome."""

    id: str
    started: dt.datetime
    finished: dt.datetime | None = None
    status: RunStatus
    message: str = ""
    version: str | None = None
    trigger: str = Field("manual", description="What started it: schedule or manual.")
    cursor: Cursor | None = Field(
        None, description="The collection cursor in force after the run (None while running)."
    )
    dataset: str | None = Field(
        None, description="Folder of its dataset under datasets/, when it consumed data."
    )
    details: dict[str, Any] = Field(
        default_factory=dict, description="What was collected, built and measured."
    )


class RegistryState(BaseModel):
    """The content of `registry.json`."""

    versions: dict[str, VersionEntry] = Field(default_factory=dict)
    current: str | None = None
    previous: str | None = None
    runs: list[RunRecord] = Field(default_factory=list)


class VersionInfo(BaseModel):
    """A version as listed: where it is, its status, and its manifest."""

    version: str
    path: Path
    status: Status
    manifest: Manifest


def version_number(name: str) -> int | None:
    """The number of a version folder's name, None for anything else."""
    match = _VERSION.match(name)
    return int(match.group(1)) if match else None


def version_name(number: int, when: dt.datetime) -> str:
    """`v0007-20261121T0300Z`: sorts by number, and says when."""
    return f"v{number:04d}-{when.astimezone(dt.UTC):%Y%m%dT%H%MZ}"


def fingerprint(base_model: Path) -> str:
    """sha256 of the base model's config.json, keys sorted (formatting does not count)."""
    config = json.loads((base_model / "config.json").read_text(encoding="utf-8"))
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape an adapter."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
