"""`Cycle`: the steps of one run, from collection to the adapter in service.

collect → dataset (PII masked, written under `datasets/<run id>/`) → train (warm-started from
the adapter in service) → evaluate candidate and current on the same held-out examples →
version it → reject, or put it in service (`finetune.rollout`). Locking, the run record and
failures are the runner's (`finetune.runner`); a `Cycle` raises and keeps what it learned so
far in `details` and `version`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.errors import ConfigurationError, RagError
from core.llm.client import LLMClient
from finetune.collect import Collected, Collector
from finetune.dataset import Dataset, build_dataset
from finetune.dataset_io import read_examples, write_dataset
from finetune.evaluate import Evaluator, GateDecision, gate
from finetune.examples import Example
from finetune.manifest import Cursor, RunRecord, RunStatus, VersionInfo
from finetune.registry import AdapterRegistry
from finetune.rollout import Rollout
from finetune.settings import FinetuneSettings
from finetune.train import LoraTrainer, TrainResult

logger = logging.getLogger(__name__)
DATASETS = "datasets"
WORK = "work"


class CycleResult(BaseModel):
    """How a cycle ended, short of failing."""

    status: RunStatus
    message: str
    cursor: Cursor = Field(description="The cursor in force after it.")
    dataset: str | None = None


class Cycle:
    """One run's steps for `run_id`, with the clients it needs."""

    def __init__(
        self,
        settings: FinetuneSettings,
        registry: AdapterRegistry,
        rollout: Rollout,
        collector: Collector,
        run_id: str,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._rollout = rollout
        self._collector = collector
        self.run_id = run_id
        self.details: dict[str, Any] = {}
        self.version: str | None = None

    @property
    def dataset_dir(self) -> Path:
        """Where this run's dataset goes."""
        return self._settings.adapters_dir / DATASETS / self.run_id

    @property
    def work_dir(self) -> Path:
        """Where this run's adapter is trained before it becomes a version."""
        return self._settings.adapters_dir / WORK / self.run_id

    def run(self, cursor: Cursor, runs: list[RunRecord]) -> CycleResult:
        """The whole cycle from `cursor`; `runs` (the log) names earlier datasets to replay."""
        base = self._settings.base_model
        if base is None:
            raise ConfigurationError("no base model is configured: set KB_FINETUNE_BASE_MODEL")
        self._rollout.reconcile()  # fails fast, before hours of training, if vLLM is away
        collected = self._collector.collect(cursor, max_chunks=self._settings.data.max_examples)
        self.details["collected"] = collected.counts()
        if collected.empty:
            return CycleResult(status="skipped", message="skipped: nothing new", cursor=cursor)
        dataset = asyncio.run(self._build(collected, self._replay_pool(runs)))
        manifest = write_dataset(self.dataset_dir, dataset)
        self.details["dataset"] = dataset.report.model_dump(exclude={"pii"})
        self.details["pii"] = dataset.report.pii
        done = {"cursor": collected.cursor, "dataset": self.run_id}
        if not dataset.train:
            message = "skipped: nothing new to train on (see the dataset counts)"
            return CycleResult(status="skipped", message=message, **done)
        current = self._registry.current()
        trained = LoraTrainer(base, self._settings.lora, self._settings.training).train(
            dataset.train, self.work_dir, parent=current.path if current else None
        )
        decision = self._evaluate(base, dataset, current)
        info = self._register(base, current, manifest, trained, decision)
        self.version = info.version
        if not decision.promote:
            self._registry.mark(info.version, "rejected")
            message = f"rejected {info.version}: {decision.reason}"
            return CycleResult(status="rejected", message=message, **done)
        return CycleResult(status="ok", message=self._publish(info, decision), **done)

    async def _build(self, collected: Collected, replay: list[Example]) -> Dataset:
        settings = self._settings
        llm = LLMClient(settings.llm) if settings.llm.base_url else None
        cited = [passage for answer in collected.rated for passage in answer.citations]
        try:
            return await build_dataset(
                collected.chunks, collected.rated, settings.data, llm=llm,
                seed=settings.training.seed, replay_pool=replay, distractor_pool=cited,
            )  # fmt: skip
        finally:
            if llm is not None:
                await llm.aclose()

    def _replay_pool(self, runs: list[RunRecord]) -> list[Example]:
        names = [r.dataset for r in reversed(runs) if r.dataset]
        examples: list[Example] = []
        for name in names[: self._settings.data.replay_runs]:
            try:
                examples += read_examples([self._settings.adapters_dir / DATASETS / name])
            except RagError as exc:  # one damaged dataset costs its examples, not the run
                logger.warning("dataset %s left out of replay: %s", name, exc.message)
        return examples

    def _evaluate(self, base: Path, dataset: Dataset, current: VersionInfo | None) -> GateDecision:
        evaluator, g = Evaluator(base, self._settings.training), self._settings.gate
        quality = {"questions": g.quality_questions, "max_new_tokens": g.quality_max_new_tokens}
        candidate = evaluator.metrics(dataset.heldout, self.work_dir, **quality)
        serving = evaluator.metrics(dataset.heldout, current.path if current else None, **quality)
        against = current.version if current else "base"
        decision = gate(
            candidate, serving, g.min_improvement, against=against, max_f1_drop=g.max_answer_f1_drop
        )
        self.details["gate"] = {
            "promote": decision.promote, "reason": decision.reason, "against": against,
            "candidate_perplexity": candidate.perplexity, "current_perplexity": serving.perplexity,
            "heldout_examples": candidate.examples, "heldout_tokens": candidate.tokens,
            "candidate_answer_f1": candidate.quality and candidate.quality.answer_f1,
            "current_answer_f1": serving.quality and serving.quality.answer_f1,
            "candidate_citations_right": candidate.quality and candidate.quality.citation_accuracy,
        }  # fmt: skip
        return decision

    def _register(
        self,
        base: Path,
        current: VersionInfo | None,
        manifest: dict[str, Any],
        trained: TrainResult,
        decision: GateDecision,
    ) -> VersionInfo:
        recipe = self._settings.model_dump(
            mode="json", include={"lora", "training", "data", "gate"}
        )
        train = trained.model_dump(exclude={"step_losses"})
        return self._registry.create_version(
            self.work_dir, base_model=base, parent=current.version if current else None,
            data={"run": self.run_id, "folder": f"{DATASETS}/{self.run_id}", **manifest},
            settings=recipe, gate=decision.model_dump(mode="json"),
            metrics={"train": train, "heldout": decision.candidate.model_dump(mode="json"),
                     "current": decision.current.model_dump(mode="json")},
            eval_report={"gate": decision.model_dump(mode="json"),
                         "step_losses": trained.step_losses},
        )  # fmt: skip

    def _publish(self, info: VersionInfo, decision: GateDecision) -> str:
        try:
            name = self._rollout.promote(info.version)
        except Exception:
            # It passed the gate but is not in service; rejected, so that no one mistakes it
            # for a pending candidate. `promote VERSION` can still put it in service by hand.
            self._registry.mark(info.version, "rejected")
            self.details["publish"] = "failed: the version passed the gate and was rejected"
            raise
        return f"promoted {info.version} as {name}: {decision.reason}"
