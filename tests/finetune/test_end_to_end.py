"""A whole cycle against the REAL answer service: ingested documents and ratings in, a LoRA
adapter trained on the tiny model, loaded into the vLLM stand-in, and answers asking for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from finetune.registry import AdapterRegistry
from finetune.runner import run_once
from finetune.settings import FinetuneSettings
from kb.cli import cli
from tests.finetune.conftest import CPU
from tests.serving.test_chat import build_data, served
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin

LEAVE = "How many days of paid annual leave do employees get?"


@pytest.fixture(scope="module")
def kb_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_data(tmp_path_factory.mktemp("finetune-e2e"), embedder)


def test_ingested_documents_and_ratings_become_a_served_adapter(
    kb_template, tmp_path, embedder, tiny_lm, monkeypatch
):
    data = Path(shutil.copytree(kb_template, tmp_path / "data"))
    vllm = VllmStandin(model="base", strict_models=True)
    with serve(vllm.app()) as vllm_url:
        llm = {"base_url": f"{vllm_url}/v1", "model": "base"}
        with served(data, embedder, llm=llm) as url, httpx.Client(base_url=url, timeout=60) as c:
            body = {"model": "kb/hr", "messages": [{"role": "user", "content": LEAVE}]}
            answer = c.post("/v1/chat/completions", json=body).json()
            rating = {"question": LEAVE, "answer": "Employees receive 25 days [1].",
                      "citations": answer["citations"][:1], "rating": 5}  # fmt: skip
            assert c.post("/v1/feedback", json=rating).status_code == 201

            settings = FinetuneSettings(
                _env_file=None, base_model=tiny_lm, adapters_dir=tmp_path / "ft",
                lora={"rank": 8}, data={"heldout_fraction": 0.5},
                training={**CPU, "learning_rate": 1e-2, "max_steps": 30},
                vllm={"url": f"{vllm_url}/v1"}, answer_service={"url": url},
            )  # fmt: skip
            outcome = run_once(settings)
            alias = c.get("/v1/model-alias").json()
            c.post("/v1/chat/completions", json=body)
            again = run_once(settings)

            for name, value in [
                ("KB_FINETUNE_BASE_MODEL", str(tiny_lm)),
                ("KB_FINETUNE_ADAPTERS_DIR", str(tmp_path / "ft")),
                ("KB_FINETUNE_ANSWER_SERVICE__URL", url),
                ("KB_FINETUNE_VLLM__URL", f"{vllm_url}/v1"),
            ]:
                monkeypatch.setenv(name, value)
            listed = CliRunner().invoke(cli, ["finetune", "list"])

    assert outcome.status == "ok", outcome.message
    assert outcome.version is not None
    current = AdapterRegistry(tmp_path / "ft").current()
    assert current is not None
    assert current.version == outcome.version
    served_name = alias["model"]
    assert alias["alias"] == "base"
    assert served_name != "base"
    assert outcome.version in served_name
    assert served_name in vllm.loras
    assert vllm.requests[-1].body["model"] == served_name  # answers now ask for the adapter
    assert again.status == "skipped"
    assert "nothing new" in again.message
    assert listed.exit_code == 0, listed.output
    assert outcome.version in listed.output
