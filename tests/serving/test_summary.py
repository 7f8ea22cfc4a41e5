from rich.console import Console

from ingest.outcome import FileResult, Outcome
from kb.progress import summary


def render(results: list[FileResult]) -> str:
    console = Console(record=True, width=160)
    summary(console, results)
    return console.export_text()


def test_small_batches_list_every_file():
    text = render(
        [FileResult("a.pdf", Outcome.INGESTED, "x", 3, 9), FileResult("b.pdf", Outcome.UNCHANGED)]
    )
    assert "a.pdf" in text
    assert "b.pdf" in text
    assert "ingested 1" in text
    assert "unchanged 1" in text


def test_big_batches_list_only_what_needs_attention():
    results = [FileResult(f"doc{i}.txt", Outcome.INGESTED, str(i), 1, 2) for i in range(80)]
    results.append(
        FileResult("broken.pdf", Outcome.FAILED, reason="corrupt", message="cannot read")
    )
    text = render(results)
    assert "broken.pdf" in text
    assert "cannot read" in text
    assert "doc7.txt" not in text
    assert "80 ingested, replaced or unchanged files not listed" in text
    assert "ingested 80" in text
    assert "failed 1" in text
