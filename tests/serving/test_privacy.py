"""Per-knowledge-base masking: before embedding and storage, and in prompts to the LLM.

Three knowledge bases hold the same staff note: `staff` is masked when stored, `plain` only
in prompts, `raw` nowhere. The real runtime ingests them; the real app answers through the
vLLM stand-in, which records the prompts it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.outcome import NullProgress, Outcome
from tests.serving.test_chat import sdk, served
from tests.support.runtime import open_runtime, write_text
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin

NOTE = [
    "Leave requests go to Li Lei, mobile 138 1234 5678, e-mail li.lei@corp.example.",
    "员工王芳的身份证号11010519491231002X，工资卡6222021234567894，请勿外传。",
]
MOBILE, ID = "138 1234 5678", "11010519491231002X"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    folder = tmp_path_factory.mktemp("privacy")
    note = write_text(folder / "docs", "note.md", NOTE)

    async def ingest() -> None:
        runtime = await open_runtime(folder / "data", embedder, privacy={"mask_stored": ["staff"]})
        try:
            for kb in ("staff", "plain", "raw"):
                runtime.registry.create_kb(kb)
                result = await runtime.ingestor.ingest(kb, note, note.name, NullProgress())
                assert result.outcome is Outcome.INGESTED, result
        finally:
            await runtime.close()

    asyncio.run(ingest())
    return folder / "data"


@pytest.fixture(scope="module")
def app(data: Path, embedder) -> Iterator[tuple[str, VllmStandin]]:
    standin = VllmStandin()
    with serve(standin.app()) as llm_url:
        llm = {"base_url": f"{llm_url}/v1", "model": "kb-test"}
        privacy = {"mask_prompts": ["plain"]}
        with served(data, embedder, llm=llm, privacy=privacy, cache={"enabled": False}) as url:
            yield url, standin


def passages(url: str, kb: str) -> str:
    response = httpx.post(
        f"{url}/v1/retrieve", json={"query": "Li Lei leave 王芳", "knowledge_bases": [kb]}
    )
    assert response.status_code == 200, response.text
    return "\n".join(hit["text"] for hit in response.json()["data"])


def test_a_masked_knowledge_base_never_stores_the_data(app):
    url, _ = app
    stored = passages(url, "staff")
    assert "[PHONE]" in stored
    assert "[EMAIL]" in stored
    assert "[ID]" in stored
    assert "[CARD]" in stored
    assert MOBILE not in stored
    assert ID not in stored
    assert "li.lei@" not in stored
    assert MOBILE in passages(url, "raw")


def prompt_for(app: tuple[str, VllmStandin], kb: str) -> str:
    url, standin = app
    standin.reset(reply="Noted [1].")
    with sdk(url) as client:
        client.chat.completions.create(
            model=f"kb/{kb}",
            messages=[{"role": "user", "content": f"Is {MOBILE} Li Lei's number?"}],
        )
    [request] = standin.requests
    return "\n".join(m["content"] for m in request.messages)


def test_prompts_are_masked_where_the_knowledge_base_asks(app):
    masked = prompt_for(app, "plain")
    assert MOBILE not in masked
    assert ID not in masked
    assert "Is [PHONE] Li Lei's number?" in masked
    assert "身份证号[ID]" in masked
    raw = prompt_for(app, "raw")
    assert MOBILE in raw
    assert ID in raw
