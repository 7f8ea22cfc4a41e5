"""The `kb eval` and `kb search` commands (registered on the `kb` group in kb.cli)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from core.errors import RagError
from ingest.settings import IngestSettings
from kb.evaluate import WHITESPACE, run_eval
from retrieval.beir import load_beir
from retrieval.protocol import Mode
from retrieval.settings import RetrievalSettings


@click.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help="qrels/<split>.tsv to score.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder for the index (reused by later runs; default: a folder under "
              "the data folder named after the set).")  # fmt: skip
@click.option("--whitespace-baseline", is_flag=True, help="Also score BM25 on whitespace tokens.")
@click.option("--rrf-k", type=int, default=None, help="Override the RRF constant.")
@click.option("--dense-weight", type=float, default=None)
@click.option("--sparse-weight", type=float, default=None)
@click.option("--cjk-dense-weight", type=float, default=None)
def eval_command(
    folder: Path, split: str, work_dir: Path | None, whitespace_baseline: bool,
    rrf_k: int | None, dense_weight: float | None, sparse_weight: float | None,
    cjk_dense_weight: float | None,
) -> None:  # fmt: skip
    """Score dense, sparse and hybrid retrieval on a BEIR folder (nDCG@10, recall@10/100)."""
    console = Console()
    overrides = {
        "rrf_k": rrf_k, "dense_weight": dense_weight, "sparse_weight": sparse_weight,
        "cjk_dense_weight": cjk_dense_weight,
    }  # fmt: skip
    retrieval = RetrievalSettings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        beir = load_beir(folder, split)
        data_dir = work_dir or IngestSettings().data_dir / "eval" / folder.name
        settings = IngestSettings(data_dir=data_dir)
        console.print(f"{beir.name}: {len(beir.corpus)} documents, {len(beir.queries)} queries")
        results = asyncio.run(
            run_eval(settings, retrieval, beir, list(Mode), console, whitespace=whitespace_baseline)
        )
    except RagError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(2)
    table = Table(title=f"{beir.name} ({split}, {len(beir.queries)} queries)")
    for column in ("mode", "nDCG@10", "recall@10", "recall@100"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, scores in results.items():
        label = "sparse (whitespace BM25 baseline)" if mode == WHITESPACE else mode
        table.add_row(
            label, f"{scores.ndcg_10:.3f}", f"{scores.recall_10:.3f}", f"{scores.recall_100:.3f}"
        )
    console.print(table)
