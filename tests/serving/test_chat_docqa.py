"""Real filings from FinanceBench: extractive answers (no LLM) cite the evidence page.

Three short filings (29 pages) are uploaded through the API and every FinanceBench question on
them is asked; the question's gold evidence page (zero-based in FinanceBench, one-based here)
should be among the pages the answer cites, in the question's own document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.serving.test_api import wait_for_job
from tests.serving.test_chat import assert_consistent, sdk, served
from tests.support.env import EVAL_DIR, EVAL_MISSING

pytestmark = pytest.mark.slow

FINANCEBENCH = EVAL_DIR / "docqa" / "financebench_subset"
FILINGS = [
    "ULTABEAUTY_2023Q4_EARNINGS", "PEPSICO_2023Q1_EARNINGS", "FOOTLOCKER_2022_8K_dated-2022-05-20",
]  # fmt: skip
# Measured: 4 of the 7 questions on these filings cite the evidence page. The misses ask for
# figures spread over tables or for a cause the filing states in other words, and page 1's
# headline sentences outscore the evidence page's sentences. Fewer hits is a regression.
MIN_CITING_EVIDENCE = 4


def questions() -> list[dict[str, Any]]:
    path = FINANCEBENCH / "financebench_subset_questions.jsonl"
    found = [json.loads(line) for line in path.read_text().splitlines()]
    return [q for q in found if q["doc_name"] in FILINGS]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[openai.OpenAI]:
    data = tmp_path_factory.mktemp("docqa") / "data"
    pdfs = [(f"{n}.pdf", (FINANCEBENCH / "pdfs" / f"{n}.pdf").read_bytes()) for n in FILINGS]
    with served(data, embedder) as url, httpx.Client(base_url=url, timeout=60) as http:
        http.post("/v1/knowledge-bases", json={"name": "filings"}).raise_for_status()
        files = [("files", (name, body, "application/pdf")) for name, body in pdfs]
        job = http.post("/v1/knowledge-bases/filings/documents", files=files).json()
        assert wait_for_job(http, job["id"], timeout_s=300)["counts"] == {"ingested": len(pdfs)}
        with sdk(url) as client:
            yield client


@pytest.mark.skipif(not FINANCEBENCH.is_dir(), reason=EVAL_MISSING)
def test_answers_cite_the_evidence_page(client):
    misses = []
    asked = questions()
    for question in asked:
        answer = client.chat.completions.create(
            model="kb/filings", messages=[{"role": "user", "content": question["question"]}]
        )
        citations = answer.model_extra["citations"]
        assert_consistent(answer.choices[0].message.content, citations)
        assert answer.model_extra["warnings"] == ["extractive: no LLM configured"]
        source = f"{question['doc_name']}.pdf"
        evidence = {e["evidence_page_num"] + 1 for e in question["evidence"]}
        cited = {c["page"] for c in citations if c["source"] == source}
        if not cited & evidence:
            misses.append(
                f"{question['financebench_id']}: cited {sorted(cited)}, evidence {sorted(evidence)}"
            )
    assert len(asked) == 7
    assert len(asked) - len(misses) >= MIN_CITING_EVIDENCE, "\n".join(misses)
