from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from search_proxy.merge import NEAR_DUPLICATE, _jaccard, _shingles, merge
from search_proxy.protocol import EngineHit
from search_proxy.urls import canonical_url

REPO = Path(__file__).resolve().parents[2]

FED_TITLE = "Fed raises interest rates by a quarter point to fight inflation"
FED = (
    "The Federal Reserve raised its benchmark interest rate by 0.25 percentage points on "
    "Wednesday, the tenth increase in just over a year, as officials continue to fight inflation."
)
GDP_TITLE = "国家统计局：一季度国内生产总值同比增长5.3%"
GDP = (
    "国家统计局今日发布数据，初步核算，一季度国内生产总值296299亿元，按不变价格计算，"
    "同比增长5.3%，比上年四季度环比增长1.6%。"
)
COOKIES = (
    "We use cookies to give you the best experience on our website. By continuing to browse "
    "you agree to our use of cookies."
)


def hit(url: str, rank: int, title: str = "", snippet: str = "", **extra: object) -> EngineHit:
    return EngineHit.model_validate(
        {"url": url, "rank": rank, "title": title or url, "snippet": snippet, **extra}
    )


def urls(results: list) -> list[str]:
    return [result.url for result in results]


def test_overlapping_results_of_three_engines_keep_every_engine_and_rank() -> None:
    results = merge(
        {
            "brave": [
                hit("https://example.com/a", 1),
                hit("https://example.com/b", 2),
                hit("https://example.com/c", 3),
            ],
            "searxng": [
                hit("http://www.example.com/b/", 1),
                hit("https://example.com/d", 2),
                hit("https://example.com/a?utm_source=searxng", 3),
            ],
            "tavily": [hit("https://example.com/c#intro", 1), hit("https://EXAMPLE.com/a", 2)],
        },
        {},
        limit=10,
    )
    by_key = {canonical_url(result.url): result for result in results}
    assert sorted(by_key) == [f"example.com/{page}" for page in "abcd"]
    a, b, c, d = (by_key[f"example.com/{page}"] for page in "abcd")
    assert c.url == "https://example.com/c#intro"  # tavily's: its rank 1 scores best
    assert a.engines == ["brave", "searxng", "tavily"]
    assert a.ranks == {"brave": 1, "searxng": 3, "tavily": 2}
    assert a.score == pytest.approx(1 + 1 / 3 + 1 / 2)
    assert (b.engines, b.ranks) == (["brave", "searxng"], {"brave": 2, "searxng": 1})
    assert (c.engines, c.ranks) == (["brave", "tavily"], {"brave": 3, "tavily": 1})
    assert (d.engines, d.ranks, d.score) == (["searxng"], {"searxng": 2}, 0.5)
    assert urls(results) == [a.url, b.url, c.url, d.url]  # 1.83, 1.5, 1.33, 0.5


def test_an_engine_finding_a_page_twice_counts_its_best_rank_once() -> None:
    [result] = merge(
        {"brave": [hit("http://example.com/a", 4), hit("https://example.com/a/", 2)]},
        {},
        limit=10,
    )
    assert (result.engines, result.ranks, result.score) == (["brave"], {"brave": 2}, 0.5)


@pytest.mark.parametrize("order", [["brave", "searxng"], ["searxng", "brave"]])
def test_the_heavier_engine_wins_a_tie(order: list[str]) -> None:
    found = {
        "brave": [hit("https://brave.example/top", 1)],
        "searxng": [hit("https://searxng.example/top", 1)],
    }
    results = merge({name: found[name] for name in order}, {"searxng": 1.5}, limit=10)
    assert urls(results) == ["https://searxng.example/top", "https://brave.example/top"]
    assert [result.score for result in results] == [1.5, 1.0]


def test_found_by_two_engines_beats_found_by_one_at_similar_ranks() -> None:
    results = merge(
        {
            "brave": [hit("https://one.example/", 1), hit("https://both.example/", 2)],
            "searxng": [hit("https://both.example/", 1)],
        },
        {},
        limit=10,
    )
    assert urls(results) == ["https://both.example/", "https://one.example/"]


def test_ties_go_to_the_best_single_rank_then_to_first_seen() -> None:
    results = merge(
        {
            "brave": [hit("https://first.example/", 1), hit("https://spread.example/", 2)],
            "searxng": [hit("https://second.example/", 1), hit("https://spread.example/", 2)],
        },
        {},
        limit=10,
    )
    assert [result.score for result in results] == [1.0, 1.0, 1.0]
    assert urls(results) == [
        "https://first.example/",
        "https://second.example/",
        "https://spread.example/",
    ]


def test_unlisted_engines_weigh_one() -> None:
    results = merge(
        {"brave": [hit("https://a.example/", 2)], "bocha": [hit("https://b.example/", 2)]},
        {"brave": 3.0},
        limit=10,
    )
    assert [result.score for result in results] == [1.5, 0.5]


def test_https_url_is_shown_even_when_an_http_one_ranked_better() -> None:
    [result] = merge(
        {
            "brave": [hit("http://example.com/a", 1)],
            "searxng": [hit("https://www.example.com/a/?utm_source=x", 5)],
        },
        {},
        limit=10,
    )
    assert result.url == "https://www.example.com/a/?utm_source=x"  # as given, not the key


def test_among_https_urls_the_best_scoring_engines_is_shown() -> None:
    [result] = merge(
        {
            "brave": [hit("https://www.example.com/a", 3)],
            "searxng": [hit("https://example.com/a/", 1)],
        },
        {},
        limit=10,
    )
    assert result.url == "https://example.com/a/"


def test_longer_title_and_snippet_win_and_whitespace_collapses() -> None:
    [result] = merge(
        {
            "brave": [hit("https://example.com/a", 1, "Short", "A  much\n longer snippet text.")],
            "searxng": [hit("https://example.com/a", 2, "  A longer\ttitle ", "Brief.")],
        },
        {},
        limit=10,
    )
    assert (result.title, result.snippet) == ("A longer title", "A much longer snippet text.")


def test_earliest_published_date_is_kept_naive_read_as_utc() -> None:
    cst = timezone(timedelta(hours=8))
    [result] = merge(
        {
            "brave": [hit("https://example.com/a", 1)],
            "searxng": [hit("https://example.com/a", 2, published=datetime(2024, 5, 2, 9))],
            "bocha": [
                hit("https://example.com/a", 3, published=datetime(2024, 5, 2, 16, tzinfo=cst))
            ],
            "tavily": [hit("https://example.com/a", 4, published=datetime(2024, 5, 3, tzinfo=UTC))],
        },
        {},
        limit=10,
    )
    assert result.published == datetime(2024, 5, 2, 16, tzinfo=cst)  # 08:00 UTC


def test_hits_without_a_usable_url_are_skipped() -> None:
    results = merge(
        {
            "brave": [
                hit("", 1, "Empty"),
                hit("javascript:void(0)", 2, "Script"),
                hit("/relative/page", 3, "Relative"),
                hit("https://example.com/ok", 4, "Kept"),
            ]
        },
        {},
        limit=10,
    )
    assert [result.title for result in results] == ["Kept"]


def test_limit_is_respected() -> None:
    found = {"brave": [hit(f"https://example.com/{rank}", rank) for rank in range(1, 21)]}
    assert urls(merge(found, {}, limit=3)) == [f"https://example.com/{n}" for n in (1, 2, 3)]
    assert merge(found, {}, limit=0) == []


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="near_duplicate"):
        merge({}, {}, limit=10, near_duplicate=0)


NEAR_DUPLICATES = [
    pytest.param((FED_TITLE, FED), (FED_TITLE, FED), id="identical"),
    pytest.param(
        (FED_TITLE, FED),
        (
            FED_TITLE,
            FED.replace("raised", "lifted").replace("benchmark", "key").replace("continue", "keep"),
        ),
        id="three-words-changed",
    ),
    pytest.param(
        (FED_TITLE + " - Reuters", FED),
        (FED_TITLE + " | Yahoo Finance", FED.replace("Wednesday", "Wed.")),
        id="site-suffix",
    ),
    pytest.param((FED_TITLE, FED), (FED_TITLE, FED[:130] + " ..."), id="cut-off-snippet"),
    pytest.param((GDP_TITLE, GDP), (GDP_TITLE, GDP.replace("今日", "今天")), id="cjk-one-word"),
]

DIFFERENT = [
    pytest.param(
        (FED_TITLE, FED),
        (
            FED_TITLE,
            "Mortgage rates climbed again this week after the central bank announcement, adding "
            "pressure on first-time home buyers across the country.",
        ),
        id="same-title-other-snippet",
    ),
    pytest.param(
        (FED_TITLE, "Live updates from the press conference."),
        (FED_TITLE, "Analysis: what it means for your savings."),
        id="same-title-short-snippets",
    ),
    pytest.param(
        ("北京天气", "北京今天天气晴朗，最高气温25度，适合户外活动。"),
        ("北京天气", "北京明天有雨，最高气温18度，出门请带伞。"),
        id="cjk-short-snippets",
    ),
    pytest.param(
        (GDP_TITLE, GDP),
        (GDP_TITLE, "专家解读：消费和投资双轮驱动，一季度经济开局良好，为全年目标打下基础。"),
        id="cjk-same-title-other-snippet",
    ),
    pytest.param(
        ("Pricing - Acme Cloud", COOKIES),
        ("Documentation - Acme Cloud", COOKIES),
        id="boilerplate-snippet",
    ),
    pytest.param(("Acme Cloud - Home", ""), ("Acme Cloud - Home", ""), id="no-snippets"),
    pytest.param(("Acme Cloud - Home", "..."), ("Acme Cloud - Home", "..."), id="no-snippet-text"),
]


# Pages of one site: their titles share the site's name, templated pages their snippets.
WIKI = " - 维基百科，自由的百科全书"
SAME_SITE_DIFFERENT = [
    pytest.param(
        (
            "乌拉嘎龙属" + WIKI,
            "乌拉嘎龙属是鸭嘴龙科栉龙亚科的一属，化石发现于中国黑龙江省，年代为白垩纪晚期。",
        ),
        (
            "黑龙江龙属" + WIKI,
            "黑龙江龙属是鸭嘴龙科赖氏龙亚科的一属，化石发现于中国黑龙江省，年代为白垩纪晚期。",
        ),
        id="templated-stubs",
    ),
    pytest.param(
        ("Pricing | Acme Cloud Platform", COOKIES),
        ("Documentation | Acme Cloud Platform", COOKIES),
        id="boilerplate-snippet",
    ),
]


def merged_pair(
    first: tuple[str, str], second: tuple[str, str], *, same_site: bool = False, **options: float
) -> list:
    other = "https://uk.reuters.com/fed" if same_site else "https://finance.yahoo.com/news/fed"
    return merge(
        {
            "brave": [hit("https://www.reuters.com/markets/fed-2023", 1, *first)],
            "searxng": [hit(other, 2, *second)],
        },
        {},
        limit=10,
        **options,
    )


@pytest.mark.parametrize(("first", "second"), NEAR_DUPLICATES)
def test_near_duplicates_at_different_urls_merge(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    [result] = merged_pair(first, second)
    assert result.engines == ["brave", "searxng"]
    assert result.ranks == {"brave": 1, "searxng": 2}
    assert result.url == "https://www.reuters.com/markets/fed-2023"  # the better-ranked one
    assert result.title == max(first[0], second[0], key=len)
    assert result.snippet == max(first[1], second[1], key=len)


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_pages_stay_apart(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert len(merged_pair(first, second)) == 2


@pytest.mark.parametrize(("first", "second"), SAME_SITE_DIFFERENT)
def test_pages_of_one_site_with_templated_snippets_stay_apart(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert len(merged_pair(first, second, same_site=True)) == 2


def test_one_page_at_two_urls_of_its_site_merges() -> None:
    assert len(merged_pair((FED_TITLE, FED), (FED_TITLE, FED), same_site=True)) == 1


@pytest.mark.parametrize(
    ("first", "second", "same_site"),
    [pytest.param(*case.values, False, id=f"{case.id}-across-sites") for case in NEAR_DUPLICATES]
    + [pytest.param(*case.values, True, id=f"{case.id}-one-site") for case in NEAR_DUPLICATES]
    + [pytest.param(*case.values, False, id=case.id) for case in DIFFERENT]
    + [pytest.param(*case.values, True, id=case.id) for case in SAME_SITE_DIFFERENT],
)
def test_threshold_has_a_margin_on_both_sides(
    first: tuple[str, str], second: tuple[str, str], same_site: bool
) -> None:
    # The default sits in a gap: 0.1 either way changes no verdict above.
    expected = len(merged_pair(first, second, same_site=same_site))
    for threshold in (NEAR_DUPLICATE - 0.1, NEAR_DUPLICATE + 0.1):
        found = merged_pair(first, second, same_site=same_site, near_duplicate=threshold)
        assert len(found) == expected


def test_near_duplicate_merging_can_be_turned_off() -> None:
    assert len(merged_pair((FED_TITLE, FED), (FED_TITLE, FED), near_duplicate=1.01)) == 2


def variants(count: int) -> list[tuple[str, str]]:
    """Titles and snippets built from a few stories with words swapped, some near, some far."""
    stories = [
        FED,
        GDP,
        COOKIES,
        "Rust 1.80 stabilises LazyCell and LazyLock in the standard library.",
    ]
    swaps = [("the", "a"), ("，", "、"), ("to", "into"), ("国内生产总值", "GDP"), ("our", "this")]
    out = []
    for n in range(count):
        snippet = stories[n % len(stories)]
        for k, (old, new) in enumerate(swaps):
            if n >> k & 1:
                snippet = snippet.replace(old, new)
        topic = ("markets", "weather", "sports", "science", "travel", "music")[n // 4 % 6]
        out.append((f"Story {n % len(stories)}: {topic}", snippet[: 40 + (n * 7) % 90]))
    return out


def test_prefix_filter_finds_exactly_the_pairs_a_full_comparison_finds() -> None:
    # Pairs of random sentences, the second with 0-7 of its 16 words replaced: similarities
    # spread across the threshold, and unrelated sentences share next to nothing.
    rng = random.Random(7)
    words = ["".join(rng.choices("bdfgklmnprstvz", k=2)) + rng.choice("aeiou") for _ in range(400)]
    texts = []
    for changed in list(range(8)) * 8:
        title, sentence = " ".join(rng.sample(words, 5)), rng.sample(words, 16)
        variant = sentence.copy()
        for position in rng.sample(range(16), changed):
            variant[position] = rng.choice(words)
        texts += [(title, " ".join(sentence)), (title, " ".join(variant))]
    results = merge(
        {"brave": [hit(f"https://x.example/{n}", n + 1, *text) for n, text in enumerate(texts)]},
        {},
        limit=1000,
    )
    similar = {
        i
        for i in range(0, len(texts), 2)
        if _jaccard(_shingles(texts[i][1]), _shingles(texts[i + 1][1])) >= NEAR_DUPLICATE
    }
    assert 10 < len(similar) < len(texts) // 2 - 10  # the data has both verdicts, often
    assert len(results) == len(texts) - len(similar)


MERGE_SCRIPT = """
import json, sys
from search_proxy.merge import merge
from search_proxy.protocol import EngineHit
texts = json.loads(sys.argv[1])
found = {
    engine: [
        EngineHit(url=f"https://example.com/{k}", rank=k - 3 * shift + 1, title=t, snippet=s)
        for k, (t, s) in enumerate(texts)
        if k >= 3 * shift
    ]
    for shift, engine in enumerate(["brave", "searxng", "tavily", "bocha", "serper"])
}
print(json.dumps([r.model_dump(mode="json") for r in merge(found, {"tavily": 1.2}, limit=50)]))
"""


def test_order_is_the_same_under_any_hash_seed() -> None:
    texts = json.dumps(variants(40))
    outputs = [
        subprocess.run(
            [sys.executable, "-c", MERGE_SCRIPT, texts],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert len(json.loads(outputs[0])) > 5
    assert outputs[0] == outputs[1]
