"""Load test: concurrent clients against the real app under uvicorn, on loopback.

Run by hand from the repository root (a few minutes; nothing else should run meanwhile):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/load.py [--clients 64] [--seconds 30] [--docs 200]

Two processes are started, as in a deployment: the app (`python -m serving serve`, embedded
mode: Qdrant Edge, in-process ingest worker, answer cache off so every question is really
answered) and the vLLM stand-in (`python -m tests.support.vllm_standin`, OpenAI streaming).
A knowledge base is filled with `--docs` SciFact abstracts uploaded as text files. Then, each
phase for `--seconds` with `--clients` concurrent clients (httpx, one connection each, every
client asking its next question as soon as the last one is answered):

1. `POST /v1/retrieve` (hybrid, top 8), real SciFact questions;
2. streaming `POST /v1/chat/completions` (SSE read to `data: [DONE]`), time to first
   token and to the end;
3. a mix: half the clients retrieve, half chat, while an upload of `--docs` more abstracts is
   ingested; the job's progress is sampled every half second.

Printed per phase: requests, throughput, p50/p99, status codes (goal: no 5xx; 429 only beyond
configured limits, and none are configured here), and whether ingestion progressed meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from bench.ingest import machine  # noqa: E402
from tests.support.processes import Service, clean_env  # noqa: E402
from tests.support.server import free_port  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "beir" / "scifact"
KB = "load"


@dataclass
class Tally:
    """What one kind of request got during one phase."""

    ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # streaming: time to first content
    codes: Counter[str] = field(default_factory=Counter)

    def line(self, name: str, seconds: float) -> str:
        done = sum(self.codes.values())
        fives = sum(n for code, n in self.codes.items() if code.startswith("5"))
        out = f"  {name:<22} {done:6d} requests  {done / seconds:7.1f}/s  {pct(self.ms)}"
        if self.first_ms:
            out += f"  first token {pct(self.first_ms)}"
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.codes.items()))
        return f"{out}\n  {'':<22} codes {codes}; 5xx: {fives}"


def pct(ms: list[float]) -> str:
    if not ms:
        return "p50 -, p99 -"
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):7.1f} ms  p99 {p99:7.1f} ms"


def corpus_and_questions() -> tuple[list[dict[str, Any]], list[str]]:
    corpus = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").open()]
    questions = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    return corpus, questions


async def upload(http: httpx.AsyncClient, docs: list[dict[str, Any]]) -> str:
    files = [
        ("files", (f"{d['_id']}.txt", f"{d['title']}\n\n{d['text']}".encode(), "text/plain"))
        for d in docs
    ]
    response = await http.post(f"/v1/knowledge-bases/{KB}/documents", files=files)
    return str(response.raise_for_status().json()["id"])


async def job(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    return dict((await http.get(f"/v1/jobs/{job_id}")).raise_for_status().json())


async def wait_done(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    while (found := await job(http, job_id))["status"] not in ("done", "failed"):  # noqa: ASYNC110
        await asyncio.sleep(0.5)  # polling an HTTP API, as a client does
    return found


async def retrieve(http: httpx.AsyncClient, question: str, tally: Tally) -> None:
    body = {"query": question, "knowledge_bases": [KB], "top_k": 8, "mode": "hybrid"}
    started = time.perf_counter()
    response = await http.post("/v1/retrieve", json=body)
    tally.codes[str(response.status_code)] += 1
    if response.status_code == 200:
        tally.ms.append((time.perf_counter() - started) * 1000)


async def chat(http: httpx.AsyncClient, question: str, tally: Tally) -> None:
    body = {
        "model": f"kb/{KB}", "stream": True,
        "messages": [{"role": "user", "content": question}],
    }  # fmt: skip
    started = time.perf_counter()
    first, finished = None, False
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {") and '"content"' in line:
                first = time.perf_counter()
            if line == "data: [DONE]":
                finished = True
    code = str(response.status_code)
    tally.codes[code if finished or code != "200" else "200 unfinished"] += 1
    if finished:
        tally.ms.append((time.perf_counter() - started) * 1000)
        if first is not None:
            tally.first_ms.append((first - started) * 1000)


Call = Callable[[httpx.AsyncClient, str, Tally], Awaitable[None]]


async def client(
    http: httpx.AsyncClient,
    call: Call,
    questions: list[str],
    start: int,
    until: float,
    tally: Tally,
) -> None:
    i = start
    while time.monotonic() < until:
        try:
            await call(http, questions[i % len(questions)], tally)
        except httpx.HTTPError as exc:
            tally.codes[type(exc).__name__] += 1
        i += 97


async def phase(
    url: str, mix: list[tuple[str, Call]], clients: int, seconds: float, questions: list[str]
) -> tuple[dict[str, Tally], float]:
    tallies = {name: Tally() for name, _ in mix}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        until = time.monotonic() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(
            client(http, mix[i % len(mix)][1], questions, i, until, tallies[mix[i % len(mix)][0]])
            for i in range(clients)
        ))  # fmt: skip
        return tallies, time.perf_counter() - started


async def progress_during(http: httpx.AsyncClient, job_id: str, samples: list[int]) -> None:
    while True:
        samples.append(int((await job(http, job_id))["progress"]["chunks"]))
        await asyncio.sleep(0.5)


async def run(url: str, args: argparse.Namespace) -> None:
    corpus, questions = corpus_and_questions()
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        (await http.post("/v1/knowledge-bases", json={"name": KB})).raise_for_status()
        started = time.perf_counter()
        seeded = await wait_done(http, await upload(http, corpus[: args.docs]))
        took = time.perf_counter() - started
        print(f"seeded {seeded['counts']} ({seeded['progress']['chunks']} chunks) in {took:.0f} s")
    phases: list[tuple[str, list[tuple[str, Call]]]] = [
        ("retrieve", [("POST /v1/retrieve", retrieve)]),
        ("streaming chat", [("chat (stream)", chat)]),
    ]
    for name, mix in phases:
        tallies, took = await phase(url, mix, args.clients, args.seconds, questions)
        print(f"\n== {name}: {args.clients} clients, {took:.1f} s")
        for kind, tally in tallies.items():
            print(tally.line(kind, took))
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        job_id = await upload(http, corpus[args.docs : 2 * args.docs])
        samples: list[int] = []
        monitor = asyncio.create_task(progress_during(http, job_id, samples))
        mix = [("POST /v1/retrieve", retrieve), ("chat (stream)", chat)]
        tallies, took = await phase(url, mix, args.clients, args.seconds, questions)
        monitor.cancel()
        during = await job(http, job_id)
        print(f"\n== mix with an upload of {args.docs} files: {args.clients} clients, {took:.1f} s")
        for kind, tally in tallies.items():
            print(tally.line(kind, took))
        rising = sum(b > a for a, b in itertools.pairwise(samples))
        first = samples[0] if samples else 0
        print(
            f"  ingestion meanwhile: {first} → {during['progress']['chunks']} chunks,"
            f" {during['progress']['files_done']} of {len(during['files'])} files done,"
            f" progress rose in {rising} of {max(0, len(samples) - 1)} half-second samples"
        )
        done = await wait_done(http, job_id)
        print(f"  the upload then finished: {done['status']}, {done['counts']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--docs", type=int, default=200)
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        sys.exit(f"SciFact not found at {SCIFACT}")
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()))
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        vllm_port, app_port = free_port(), free_port()
        vllm = Service(
            "vllm", ["-m", "tests.support.vllm_standin", "--port", str(vllm_port)],
            clean_env(), logs, url=f"http://127.0.0.1:{vllm_port}",
        )  # fmt: skip
        env = clean_env(
            KB_DATA_DIR=str(Path(tmp) / "data"), KB_LLM__BASE_URL=f"http://127.0.0.1:{vllm_port}/v1",
            KB_LLM__MODEL="base", KB_CACHE__ENABLED="false",
        )  # fmt: skip
        app = Service(
            "app", ["-m", "serving", "serve", "--port", str(app_port)], env, logs,
            url=f"http://127.0.0.1:{app_port}",
        )  # fmt: skip
        vllm.start()
        try:
            app.start(timeout_s=600)
            try:
                asyncio.run(run(f"http://127.0.0.1:{app_port}", args))
            finally:
                app.stop()
        finally:
            vllm.stop()


if __name__ == "__main__":
    main()
