import random

from retrieval.dedup import collapse, jaccard, shingles


def test_identical_and_near_identical_texts_collapse_in_order():
    base = (
        "the quarterly audit found no material weakness in the payment controls of the group " * 3
    )
    texts = [
        base,
        "an unrelated passage about annual leave and travel rules for staff members",
        base + " Indeed.",
    ]
    assert collapse(["a", "b", "c"], texts, 0.8) == ["a", "b"]


def test_cjk_text_without_spaces_uses_characters():
    text = "员工每年享有二十五天带薪年假，未休年假可以结转到次年三月底。" * 2
    assert len(shingles(text)) > 10
    assert collapse([1, 2], [text, text + "。"], 0.8) == [1]


def test_sketches_find_the_same_pairs_as_comparing_all():
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    texts: list[str] = []
    for _ in range(120):
        if texts and rng.random() < 0.3:  # a near copy of an earlier text
            source = rng.choice(texts).split()
            source[rng.randrange(len(source))] = "changed"
            texts.append(" ".join(source))
        else:
            texts.append(" ".join(rng.choice(words) for _ in range(60)))
    brute: list[int] = []
    for i, text in enumerate(texts):
        if all(jaccard(shingles(text), shingles(texts[j])) < 0.8 for j in brute):
            brute.append(i)
    assert collapse(list(range(len(texts))), texts, 0.8) == brute
