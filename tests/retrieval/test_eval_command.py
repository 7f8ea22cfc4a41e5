"""`kb eval` on a small BEIR folder made by the test, through the real pipeline."""

import json
from pathlib import Path

from click.testing import CliRunner

from kb.eval_command import eval_command

DOCS = {
    "d1": ("Annual leave", "Employees receive twenty-five days of paid annual leave each year."),
    "d2": ("Laptop security", "Laptops must use full-disk encryption and lock after five minutes."),
    "d3": ("Travel", "Economy class is the default for flights shorter than six hours."),
    "d4": ("年假", "员工每年享有二十五天带薪年假，未休年假可以结转。"),
}
QUERIES = {
    "q1": ("how many days of paid leave", "d1"),
    "q2": ("disk encryption on laptops", "d2"),
    "q3": ("flight class rules", "d3"),
    "q4": ("带薪年假有多少天", "d4"),
}


def make_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as out:
        for doc_id, (title, text) in DOCS.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as out:
        for qid, (text, _) in QUERIES.items():
            out.write(json.dumps({"_id": qid, "text": text}) + "\n")
    rows = [f"{qid}\t{doc}\t1" for qid, (_, doc) in QUERIES.items()]
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows))
    return folder


def test_eval_prints_every_mode_and_the_baseline(tmp_path):
    beir = make_beir(tmp_path / "tiny")
    args = [str(beir), "--work-dir", str(tmp_path / "work"), "--whitespace-baseline"]
    result = CliRunner().invoke(eval_command, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert {"hybrid", "dense", "sparse", "sparse (whitespace BM25 baseline)"} <= rows.keys()
    ndcg = {mode: float(line.split("│")[2]) for mode, line in rows.items() if mode != "mode"}
    assert ndcg["hybrid"] == 1.0  # four unambiguous queries: every one finds its document first
    assert ndcg["sparse (whitespace BM25 baseline)"] < ndcg["sparse"]  # the Chinese query
    # A second run reuses the index: nothing is ingested again.
    again = CliRunner().invoke(eval_command, args, env={"COLUMNS": "160"})
    assert again.exit_code == 0, again.output
