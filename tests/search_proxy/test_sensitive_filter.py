from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError
from search_proxy.sensitive.matcher import SensitiveFilter
from search_proxy.sensitive.words import WordEntry, load_allow, load_words
from search_proxy.settings import FilterSettings

WORDS = """\
# internal code words; a comment, then a blank line

机密项目\tconfidential
机密\tconfidential
项目代号\tinternal
Project 天网\tcodename
abc\tcodename
BlueBird
天网\tcodename
ace\tinternal
"""


@pytest.fixture
def words_file(tmp_path: Path) -> Path:
    path = tmp_path / "words.txt"
    path.write_text(WORDS, encoding="utf-8")
    return path


@pytest.fixture
def word_filter(words_file: Path, tmp_path: Path) -> SensitiveFilter:
    allow = tmp_path / "allow.txt"
    allow.write_text("天网恢恢\nplacebo ace\n", encoding="utf-8")
    return SensitiveFilter.from_settings(FilterSettings(words_file=words_file, allow_file=allow))


def spans(word_filter: SensitiveFilter, text: str) -> list[tuple[int, int, str]]:
    return [(match.start, match.end, match.category) for match in word_filter.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see ＡＢＣ now", [(4, 7, "codename")]),  # full width
        ("the BLUEBIRD plan", [(4, 12, "default")]),  # case
        ("关于機密項目的说明", [(2, 6, "confidential")]),  # traditional
        ("关于机 密 项 目的说明", [(2, 9, "confidential")]),  # spaced
        ("关于机\u3000密\u00a0项\t目", [(2, 9, "confidential")]),  # other separators
        ("关于机\u200b密项目", [(2, 7, "confidential")]),  # zero width
        ("关于机*密-项.目", [(2, 9, "confidential")]),  # punctuation and symbols
        ("关于机\u2605密\U0001f600项目", [(2, 8, "confidential")]),  # star and emoji
        ("见ＰＲＯＪＥＣＴ天網。", [(1, 10, "codename")]),  # mixed, full width, traditional
        ("x project-天网 y", [(2, 12, "codename")]),
    ],
)
def test_evasions_are_found_at_their_original_span(word_filter, text, expected):
    assert spans(word_filter, text) == expected


def test_several_matches_in_one_text(word_filter):
    text = "abc 与 機密項目 以及 bluebird"
    assert spans(word_filter, text) == [
        (0, 3, "codename"),
        (6, 10, "confidential"),
        (14, 22, "default"),
    ]


def test_overlapping_words_resolve_leftmost_longest(word_filter):
    assert spans(word_filter, "机密项目代号") == [(0, 4, "confidential")]
    assert spans(word_filter, "机密文件") == [(0, 2, "confidential")]
    assert spans(word_filter, "新项目代号") == [(1, 5, "internal")]
    assert spans(word_filter, "Project天网") == [(0, 9, "codename")]


def test_allowed_terms_hide_the_words_inside_them(word_filter):
    assert spans(word_filter, "天网恢恢，疏而不漏") == []
    assert spans(word_filter, "天網 恢恢") == []
    assert spans(word_filter, "天网恢恢 天网") == [(5, 7, "codename")]
    assert spans(word_filter, "a placebo ace") == []
    assert spans(word_filter, "an ace") == [(3, 6, "internal")]


def test_words_of_spaced_scripts_only_match_whole(word_filter):
    assert spans(word_filter, "in place of ace") == [(12, 15, "internal")]
    assert spans(word_filter, "aces abcd xabc") == []
    assert spans(word_filter, "ace-x, A C E") == [(0, 3, "internal"), (7, 12, "internal")]
    assert spans(word_filter, "的abc的") == [(1, 4, "codename")]


def test_chinese_words_match_inside_longer_text(word_filter):
    assert spans(word_filter, "他说天网很大") == [(2, 4, "codename")]


def test_characters_beyond_the_basic_plane_match():
    word_filter = SensitiveFilter([WordEntry("\U00020000\U00020001", "rare")])
    assert spans(word_filter, "x\U00020000 \U00020001y") == [(1, 4, "rare")]
    assert spans(word_filter, "\U00020001\U00020000") == []


def test_mask_keeps_the_length_and_covers_inserted_noise(word_filter):
    text = "关于机*密-项.目, abc!"
    masked, matches = word_filter.mask(text, "#")
    assert masked == "关于#######, ###!"
    assert len(masked) == len(text)
    assert [match.category for match in matches] == ["confidential", "codename"]


def test_remove_cuts_matches_and_tidies_whitespace(word_filter):
    assert word_filter.remove("report on 機密項目 status")[0] == "report on status"
    assert word_filter.remove("查询机密项目进展")[0] == "查询进展"
    assert word_filter.remove("abc bluebird tasks")[0] == "tasks"
    assert word_filter.remove("  nothing listed  ") == ("  nothing listed  ", [])


def test_categories_come_from_the_file(words_file):
    entries = load_words(words_file)
    assert entries[0] == WordEntry("机密项目", "confidential")
    assert WordEntry("BlueBird", "default") in entries
    assert len(entries) == 8


def test_the_first_category_of_a_duplicate_wins():
    word_filter = SensitiveFilter([WordEntry("天网", "codename"), WordEntry("天網", "other")])
    assert word_filter.words == 1
    assert spans(word_filter, "天网") == [(0, 2, "codename")]


def test_a_term_both_listed_and_allowed_is_allowed():
    word_filter = SensitiveFilter([WordEntry("天网"), WordEntry("机密")], ["天網"])
    assert (word_filter.words, word_filter.allowed) == (1, 1)
    assert spans(word_filter, "天网 机密") == [(3, 5, "default")]


def test_an_entry_without_letters_or_digits_is_refused():
    with pytest.raises(ValueError, match="no letters or digits"):
        SensitiveFilter([WordEntry("* *")])


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "absent.txt"
    with pytest.raises(ConfigurationError, match=r"absent\.txt: cannot read"):
        SensitiveFilter.from_settings(FilterSettings(words_file=path))


def test_an_entry_that_normalises_to_nothing_names_the_line(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# header\n机密\n \u200b*-\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"words\.txt, line 3: .*no letters or digits"):
        load_words(path)


def test_a_bad_category_names_the_line(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("机密\tnot a category\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"words\.txt, line 1: the category"):
        load_words(path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_bytes("机密\n".encode() + "天网\n".encode("gb18030"))
    with pytest.raises(ConfigurationError, match=r"allow\.txt, line 2: not valid UTF-8"):
        load_allow(path)


def test_a_bad_allow_file_is_refused_even_without_a_word_list(tmp_path):
    settings = FilterSettings(allow_file=tmp_path / "absent.txt")
    with pytest.raises(ConfigurationError, match=r"absent\.txt"):
        SensitiveFilter.from_settings(settings)


def test_error_messages_do_not_quote_entries(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("secretword\tbad category\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_words(path)
    assert "secretword" not in str(caught.value)


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\ufeff天网\tcodename\n", encoding="utf-8")
    assert load_words(path) == [WordEntry("天网", "codename")]


def test_empty_filters_find_nothing(tmp_path):
    comments = tmp_path / "words.txt"
    comments.write_text("# nothing listed yet\n\n", encoding="utf-8")
    for word_filter in (
        SensitiveFilter([]),
        SensitiveFilter([], ["天网"]),
        SensitiveFilter.from_settings(FilterSettings()),
        SensitiveFilter.from_settings(FilterSettings(words_file=comments)),
    ):
        assert word_filter.words == 0
        assert word_filter.find("机密项目 天网 abc") == []
        assert word_filter.mask("天网", "*") == ("天网", [])
        assert word_filter.remove(" 天网 ") == (" 天网 ", [])


def test_empty_text(word_filter):
    assert word_filter.find("") == []
