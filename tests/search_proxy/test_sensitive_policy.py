from __future__ import annotations

import logging

import pytest

from search_proxy.sensitive.matcher import SensitiveFilter
from search_proxy.sensitive.policy import FilterPolicy, QueryDecision, ResultDecision
from search_proxy.sensitive.words import WordEntry
from search_proxy.settings import FilterSettings

WORDS = [
    WordEntry("机密项目", "confidential"),
    WordEntry("Project 天网", "codename"),
    WordEntry("bluebird", "codename"),
]
LOGGER = "search_proxy.sensitive.policy"


def policy(**settings) -> FilterPolicy:
    return FilterPolicy(SensitiveFilter(WORDS), FilterSettings(**settings))


def test_block_refuses_the_query_and_leaves_it_unchanged():
    decision = policy(query_action="block").check_query("查询機密項目进展")
    assert decision == QueryDecision("查询機密項目进展", True, ["confidential"])


def test_strip_removes_the_words_from_the_query():
    decision = policy(query_action="strip").check_query("bluebird 查询机 密项目 进展")
    assert decision == QueryDecision("查询 进展", False, ["codename", "confidential"])


def test_strip_that_leaves_nothing_blocks():
    decision = policy(query_action="strip").check_query(" ＰＲＯＪＥＣＴ天網？")
    assert decision == QueryDecision(" ＰＲＯＪＥＣＴ天網？", True, ["codename"])


@pytest.mark.parametrize("action", ["block", "strip"])
def test_a_clean_query_passes(action):
    decision = policy(query_action=action).check_query("公开资料 project status")
    assert decision == QueryDecision("公开资料 project status", False, [])


def test_mask_masks_title_and_snippet():
    decision = policy(result_action="mask", mask_char="█").check_result(
        "About BlueBird", "机密项目的进展"
    )
    assert decision == ResultDecision(
        "About ████████", "████的进展", False, ["codename", "confidential"]
    )


def test_drop_drops_the_result():
    decision = policy(result_action="drop").check_result("公开", "project天网 news")
    assert decision == ResultDecision("公开", "project天网 news", True, ["codename"])


@pytest.mark.parametrize("action", ["mask", "drop"])
def test_a_clean_result_passes(action):
    decision = policy(result_action=action).check_result("Weather", "晴天")
    assert decision == ResultDecision("Weather", "晴天", False, [])


def test_every_decision_is_counted():
    counted = policy(query_action="strip", result_action="drop")
    assert counted.counts() == {}
    counted.check_query("hello")
    counted.check_query("bluebird news")
    counted.check_query("bluebird 机密项目")
    counted.check_result("bluebird", "机密项目")
    counted.check_result("news", "weather")
    assert counted.counts() == {
        "query.pass": 1,
        "query.strip": 1,
        "query.strip.codename": 1,
        "query.block": 1,
        "query.block.codename": 1,
        "query.block.confidential": 1,
        "result.drop": 1,
        "result.drop.codename": 1,
        "result.drop.confidential": 1,
        "result.pass": 1,
    }


def test_counts_are_a_copy():
    counted = policy()
    counted.check_query("bluebird")
    counted.counts()["query.block"] = 99
    assert counted.counts()["query.block"] == 1


def test_decisions_are_logged_by_category_without_the_text(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    logged = policy(query_action="block", result_action="mask")
    logged.check_query("查询机密项目进展")
    logged.check_result("BlueBird roadmap", "no match here")
    logged.check_query("公开资料")
    records = [record for record in caplog.records if record.name == LOGGER]
    messages = [record.getMessage() for record in records]
    assert len(records) == 2
    assert all(record.levelno == logging.INFO for record in records)
    assert "stage=query action=block categories=confidential matches=1" in messages[0]
    assert "stage=result action=mask categories=codename matches=1" in messages[1]
    for secret in ("机密", "项目", "进展", "bluebird", "BlueBird", "roadmap", "no match", "公开"):
        assert all(secret not in message for message in messages)


def test_building_the_filter_does_not_log_words(caplog, tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("机密项目\tconfidential\nbluebird\n", encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    built = SensitiveFilter.from_settings(FilterSettings(words_file=path))
    assert built.words == 2
    assert caplog.messages
    assert all("机密" not in m and "bluebird" not in m for m in caplog.messages)
