"""Builders for an ingest runtime on a temporary data folder, with the session's model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.embeddings import Embedder
from ingest.outcome import NullProgress, Outcome
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings


async def open_runtime(data_dir: Path, embedder: Embedder, **settings: Any) -> IngestRuntime:
    return await IngestRuntime.open(
        IngestSettings(data_dir=data_dir, **settings), embedder=embedder
    )


def write_text(folder: Path, name: str, paragraphs: list[str]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    return path


def paragraphs(topic: str, count: int) -> list[str]:
    """Distinct, sentence-shaped text so that chunks and duplicates are predictable."""
    return [
        f"Paragraph {i} about {topic}. The {topic} report number {i} explains section {i} "
        f"in plain words, with details that only paragraph {i} of {topic} contains."
        for i in range(count)
    ]


def ingest_texts(folder: Path, embedder: Embedder, texts: dict[str, list[str]]) -> Path:
    """A data folder under `folder` with one knowledge base per key, one text file each."""
    data = folder / "data"

    async def ingest() -> None:
        runtime = await open_runtime(data, embedder)
        try:
            for kb, lines in texts.items():
                runtime.registry.create_kb(kb)
                path = write_text(folder / "docs", f"{kb}.txt", lines)
                result = await runtime.ingestor.ingest(kb, path, path.name, NullProgress())
                assert result.outcome is Outcome.INGESTED, result
        finally:
            await runtime.close()

    asyncio.run(ingest())
    return data
