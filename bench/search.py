"""Search-proxy benchmarks, run by hand from the repository root (nothing else should run).

    .venv/bin/python bench/search.py filter [--words 10000] [--mb 4] [--repeats 5] [--seed 7]
    .venv/bin/python bench/search.py fanout [--delays 50,100,200,400,2000] [--deadline 1.0]

fanout: N engine stand-ins (tests/support/search_engines.py, each in its engine's documented
format, on loopback under uvicorn) answering after known delays; the real proxy app under
uvicorn asks them all. The total latency should be the slowest engine that answered within the
deadline (or the deadline, when one is later), plus overhead. Each round uses a new query, so
the cache never answers. Reports p50/p95 of the total, in-process and over HTTP.

filter: the sensitive-word filter. A seeded word list (2-6 character Chinese words, English
words and phrases, a few mixed) and a seeded mixed Chinese/English text in which some listed
words are sprinkled, plain or evaded (full width, case, traditional characters, spaces,
zero-width characters, punctuation). Reports the automaton build time and the throughput of
`SensitiveFilter.find` (UTF-8 bytes of input / seconds, best of the repeats) over the whole text
at once and over ~300-character snippets one call each, as the proxy sees titles and snippets.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search_proxy.sensitive.matcher import SensitiveFilter  # noqa: E402
from search_proxy.sensitive.normalize import default_normalizer, load_t2s_table  # noqa: E402
from search_proxy.sensitive.words import WordEntry  # noqa: E402

CHINESE_TEXT = (
    "我们 系统 数据 模型 搜索 结果 用户 服务 问题 方法 研究 发展 技术 公司 市场 产品 时间 工作 "
    "需要 可以 已经 进行 通过 提供 支持 管理 分析 信息 网络 平台 应用 企业 经济 社会 国家 城市 "
    "教育 学生 老师 医院 健康 环境 能源 政策 安全 质量 标准 设计 开发 测试 部署 文档 知识 检索 "
    "增强 生成 回答 引用 来源 页面 内容 文章 新闻 报告 会议 计划 目标 团队 客户 价格 成本 效率 "
    "今天 明天 最近 重要 主要 相关 不同 新的 更多 如何 为什么 什么 这个 那个 一些 所有 以及 但是"
)
ENGLISH_TEXT = (
    "the of and to in is for on with as by at from that this it be are was were will can "
    "system data model search results user service question method research technology company "
    "market product time work need provide support management analysis information network "
    "platform application enterprise policy security quality standard design development test "
    "deploy document knowledge retrieval answer source page content article news report meeting "
    "plan team customer price cost efficiency today recent important main related different new "
    "more how why what open cloud server latency throughput index query vector embedding"
)
CHINESE_VOCABULARY = CHINESE_TEXT.split()
ENGLISH_VOCABULARY = ENGLISH_TEXT.split()
CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"
NOISE = (" ", "\u200b", "*", "-", ".", "\u3000", "\u00b7")


def chinese_pool() -> list[str]:
    """Simplified characters that have a traditional form, so that evasions can use it."""
    return sorted({s for s in load_t2s_table().values() if "\u4e00" <= s <= "\u9fff"})


def make_words(rng: random.Random, count: int, pool: list[str]) -> list[WordEntry]:
    def english() -> str:
        return "".join(
            rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4))
        )

    categories = ("confidential", "internal", "codename")
    words: dict[str, str] = {}
    while len(words) < count:
        kind = rng.random()
        if kind < 0.6:
            word = "".join(rng.choices(pool, k=rng.randint(2, 6)))
        elif kind < 0.8:
            word = english()
        elif kind < 0.9:
            word = f"{english()} {english()}"
        else:
            word = f"{english().title()} {''.join(rng.choices(pool, k=2))}"
        words.setdefault(word, rng.choice(categories))
    return [WordEntry(word, category) for word, category in words.items()]


def evade(rng: random.Random, word: str, to_traditional: dict[str, str]) -> str:
    how = rng.randrange(5)
    if how == 0:
        return word
    if how == 1:  # full width
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if how == 2:
        return word.upper()
    if how == 3:
        return "".join(to_traditional.get(c, c) for c in word)
    return rng.choice(NOISE).join(word)  # spaced, zero-width or punctuated


def make_snippets(
    rng: random.Random, words: list[WordEntry], target_bytes: int
) -> tuple[list[str], int]:
    to_traditional = {simp: trad for trad, simp in load_t2s_table().items()}
    snippets: list[str] = []
    size = sprinkled = 0
    while size < target_bytes:
        sentences: list[str] = []
        while sum(map(len, sentences)) < 300:
            if rng.random() < 0.6:
                sentence = "".join(rng.choices(CHINESE_VOCABULARY, k=rng.randint(4, 12)))
                sentence += rng.choice(("\uff0c", "\u3002"))
            else:
                sentence = " ".join(rng.choices(ENGLISH_VOCABULARY, k=rng.randint(5, 15)))
                sentence = sentence.capitalize() + ". "
            if rng.random() < 0.05:
                evaded = evade(rng, rng.choice(words).word, to_traditional)
                sentence = f"{sentence} {evaded} "
                sprinkled += 1
            sentences.append(sentence)
        snippet = "".join(sentences)
        snippets.append(snippet)
        size += len(snippet.encode())
    return snippets, sprinkled


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, float]:
    """Seconds of the first (cold) run and of the fastest run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times[0], min(times)


def bench_filter(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    start = time.perf_counter()
    default_normalizer()
    print(f"OpenCC table load: {time.perf_counter() - start:.3f} s")
    pool = chinese_pool()
    words = make_words(rng, args.words, pool)
    snippets, sprinkled = make_snippets(rng, words, int(args.mb * 1_000_000))
    text = "".join(snippets)
    megabytes = len(text.encode()) / 1_000_000
    print(
        f"input: {len(words)} words, {megabytes:.2f} MB in {len(text)} characters, "
        f"{len(snippets)} snippets, {sprinkled} words sprinkled in"
    )

    start = time.perf_counter()
    word_filter = SensitiveFilter(words)
    print(f"automaton build: {time.perf_counter() - start:.3f} s ({word_filter.words} keys)")

    cold, best = best_of(args.repeats, lambda: word_filter.find(text))
    matches = word_filter.find(text)
    print(
        f"find, whole text: {megabytes / best:.1f} MB/s best of {args.repeats} "
        f"(first run {megabytes / cold:.1f} MB/s), {len(matches)} matches"
    )
    cold, best = best_of(args.repeats, lambda: [word_filter.find(s) for s in snippets])
    per_snippet = [len(word_filter.find(s)) for s in snippets]
    print(
        f"find, per snippet: {megabytes / best:.1f} MB/s best of {args.repeats} "
        f"({len(snippets) / best:,.0f} snippets/s), {sum(per_snippet)} matches, "
        f"{sum(map(bool, per_snippet))} snippets with a match"
    )


def bench_fanout(args: argparse.Namespace) -> None:
    import httpx

    from search_proxy.app import create_app, open_service
    from search_proxy.protocol import SearchRequest
    from search_proxy.settings import SearchProxySettings
    from tests.support.search_engines import PATHS, EngineStandins, Page
    from tests.support.server import serve

    delays = [float(d) / 1000 for d in args.delays.split(",")]
    names = list(PATHS)[: len(delays)]
    standins = EngineStandins()
    pages = [Page(f"https://example.org/{i}", f"Result {i}", f"Snippet {i}") for i in range(10)]
    for name, delay in zip(names, delays, strict=True):
        standins[name].reset(results=pages, delay_s=delay)
    answered = [d for d in delays if d < args.deadline]
    expected = max(answered) if len(answered) == len(delays) else args.deadline
    engines = ", ".join(f"{n} {d * 1000:.0f} ms" for n, d in zip(names, delays, strict=True))
    print(
        f"{len(names)} engines ({engines}), deadline {args.deadline * 1000:.0f} ms: "
        f"expected total {expected * 1000:.0f} ms"
    )
    with serve(standins.app()) as engines_url:
        settings = SearchProxySettings(
            engines=standins.settings(engines_url, *names, timeout_s=10),
            deadline_s=args.deadline,
        )

        async def in_process() -> list[float]:
            async with open_service(settings) as service:
                return [
                    (await service.search(SearchRequest(query=f"in-process {i}"))).elapsed_ms
                    for i in range(args.rounds)
                ]

        report("in-process", asyncio.run(in_process()), expected)
        with serve(create_app(settings)) as proxy, httpx.Client(base_url=proxy) as client:
            totals = []
            for i in range(args.rounds):
                start = time.perf_counter()
                client.post("/v1/search", json={"query": f"http {i}"}).raise_for_status()
                totals.append((time.perf_counter() - start) * 1000)
        report("HTTP", totals, expected)


def report(label: str, totals_ms: list[float], expected_s: float) -> None:
    totals_ms.sort()
    p50 = statistics.median(totals_ms)
    p95 = totals_ms[int(len(totals_ms) * 0.95) - 1]
    print(
        f"{label:>10}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(totals_ms)} searches; "
        f"overhead at p50 {p50 - expected_s * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    filter_command = commands.add_parser("filter", help="sensitive-word filter throughput")
    filter_command.add_argument("--words", type=int, default=10_000, help="word-list size")
    filter_command.add_argument("--mb", type=float, default=4.0, help="input size, UTF-8 MB")
    filter_command.add_argument("--repeats", type=int, default=5)
    filter_command.add_argument("--seed", type=int, default=7)
    filter_command.set_defaults(func=bench_filter)
    fanout_command = commands.add_parser("fanout", help="fan-out latency vs engine delays")
    fanout_command.add_argument("--delays", default="50,100,200,400,2000", help="ms, per engine")
    fanout_command.add_argument("--deadline", type=float, default=1.0, help="seconds")
    fanout_command.add_argument("--rounds", type=int, default=30)
    fanout_command.set_defaults(func=bench_fanout)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    args.func(args)


if __name__ == "__main__":
    main()
