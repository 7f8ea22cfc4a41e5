"""Chinese and mixed Chinese-English questions on real Chinese documents, asked through the SDK.

The knowledge base holds a Chinese PDF (5 pages), a Chinese standard draft in DOCX and 40
CMRC 2018 passages; the answers are the embedded default's extractive answers (no LLM). Each
question has a known document, a known page (the PDF's) and a fact the answer must contain;
half of them mix in English terms, identifiers or numbers (MM, www.91now.com, HAD 103/11,
HAF 103/2022, 1992年12月). The figures are printed (run with -s) and the README reports them.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.outcome import NullProgress, Outcome
from tests.serving.test_chat import sdk, served
from tests.support.env import EVAL_DIR, EVAL_MISSING
from tests.support.runtime import open_runtime

PDF = EVAL_DIR / "documents" / "pdf_cjk" / "chatchat_1.pdf"
DOCX = EVAL_DIR / "documents" / "docx" / "chatchat_nuclear_psr_part1_general.docx"
CMRC = EVAL_DIR / "beir_zh" / "cmrc2018-dev-retrieval"
CMRC_PASSAGES = 40
NUCLEAR = DOCX.name

# (question, document, page or None where the format has no pages, fact)
QUESTIONS = [
    ("陈健民在玻璃房子当中绝食多少天？", PDF.name, 1, "七七四十九天"),
    ("www.91now.com整理制作的是哪部作品？", PDF.name, 1, "鬼股"),
    ("1992年12月MM给风君子寄来了什么？", PDF.name, 2, "卡片"),
    ("风君子的老爸每月寄多少生活费？", PDF.name, 3, "二百五十"),
    ("MM给风君子起的外号是什么？", PDF.name, 4, "半仙"),
    ("《老子》有几处提到了婴儿的概念？", PDF.name, 5, "四处"),
    ("HAD 103/11要求运行核电厂开展多少个要素的定期安全评价？", NUCLEAR, None, "14个要素"),
    ("《核动力厂运行安全规定》HAF 103是哪一年发布的？", NUCLEAR, None, "2004年"),
    ("《核电厂定期安全评价》分为多少个部分？", NUCLEAR, None, "15个部分"),
    ("HAF 103/2022的名称是什么？", NUCLEAR, None, "核动力厂调试和运行安全规定"),
    ("核电厂定期安全评价标准由哪个单位归口？", NUCLEAR, None, "中国核电发展中心"),
]


def cmrc_questions() -> list[tuple[str, str, int | None, str]]:
    """The first question of each of the first CMRC passages whose answer is in its passage."""
    lines = (CMRC / "answers.jsonl").read_text(encoding="utf-8").splitlines()
    answers = [json.loads(line) for line in lines if line.strip()]
    chosen: dict[str, tuple[str, str, int | None, str]] = {}
    for a in answers:
        number = int(a["doc_id"].split("_")[1])
        if number < CMRC_PASSAGES and a["doc_id"] not in chosen and number % 3 == 0:
            chosen[a["doc_id"]] = (a["question"], f"{a['doc_id']}.txt", 1, a["answers"][0])
    return list(chosen.values())


@pytest.fixture(scope="module")
def chinese_kb(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    if not (PDF.is_file() and DOCX.is_file() and CMRC.is_dir()):
        pytest.skip(EVAL_MISSING)
    folder = tmp_path_factory.mktemp("zh")
    docs, data = folder / "docs", folder / "data"
    docs.mkdir()
    paths = [PDF, DOCX]
    for line in (CMRC / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if int(record["_id"].split("_")[1]) < CMRC_PASSAGES:
            path = docs / f"{record['_id']}.txt"
            path.write_text(f"{record['title']}\n\n{record['text']}", encoding="utf-8")
            paths.append(path)

    async def ingest() -> None:
        runtime = await open_runtime(data, embedder)
        try:
            runtime.registry.create_kb("zh")
            for path in paths:
                result = await runtime.ingestor.ingest("zh", path, path.name, NullProgress())
                assert result.outcome is Outcome.INGESTED, result
        finally:
            await runtime.close()

    asyncio.run(ingest())
    return data


@pytest.fixture(scope="module")
def url(chinese_kb: Path, tmp_path_factory, embedder) -> Iterator[str]:
    data = shutil.copytree(chinese_kb, tmp_path_factory.mktemp("zh-served") / "data")
    with served(data, embedder, cache={"enabled": False}) as url:
        yield url


def test_chinese_questions_find_the_document_the_page_and_the_fact(url):
    questions = QUESTIONS + cmrc_questions()
    right_doc = right_page = paged = fact = 0
    misses = []
    with sdk(url) as client:
        for question, source, page, expected in questions:
            answer = client.chat.completions.create(
                model="kb/zh", messages=[{"role": "user", "content": question}]
            )
            text = re.sub(r"\s*\[\d+\]", "", answer.choices[0].message.content or "")
            citations = (answer.model_extra or {}).get("citations", [])
            cited = [c for c in citations if c["source"] == source]
            right_doc += bool(cited)
            if page is not None:
                paged += 1
                right_page += any(c["page"] == page for c in cited)
            found = expected in text
            fact += found
            if not found:
                misses.append((question, expected, text[:120]))
    n = len(questions)
    print(
        f"\n{n} Chinese questions ({len(QUESTIONS)} on the PDF and DOCX, {n - len(QUESTIONS)} "
        f"CMRC): right document {right_doc}/{n}, right page {right_page}/{paged}, "
        f"fact in the answer {fact}/{n}"
    )
    for miss in misses:
        print("  missed:", miss)
    assert right_doc >= 0.9 * n
    assert right_page >= 0.8 * paged
    assert fact >= 0.7 * n
