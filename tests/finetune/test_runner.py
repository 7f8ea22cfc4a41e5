"""Whole runs with the tiny model: collect, build, train, gate, publish, and every way out."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from finetune.examples import Example
from finetune.manifest import Cursor, RunRecord
from finetune.registry import AdapterRegistry
from finetune.rollout import open_rollout
from finetune.runner import BUSY, run_once
from finetune.scheduler import JOB_ID, build_scheduler
from finetune.settings import FinetuneSettings
from tests.finetune.conftest import CPU, Servers, leave_chunk, trainer
from tests.support.answer_service import AnswerService, answer_service, instant

EMAIL = "leave-desk@example.com"


@pytest.fixture
def servers(vllm_served, tmp_path, embedder) -> Iterator[Servers]:
    """The vLLM stand-in and a real answer app of this test's own: a run starts from the
    registry's empty cursor, which takes every rating the app ever stored, and ratings cannot be
    deleted through the API."""
    vllm, url = vllm_served
    vllm.reset()
    with answer_service(tmp_path / "answers", embedder) as answers:
        yield Servers(vllm, answers, url)


@pytest.fixture(scope="module")
def noise_adapter(tiny_lm, tmp_path_factory) -> Path:
    """An adapter that learned nothing useful: one syllable over and over."""
    noise = [Example.create("causal", [], "qqqq " * 40) for _ in range(8)]
    folder = tmp_path_factory.mktemp("noise") / "adapter"
    trainer(tiny_lm, max_steps=10).train(noise, folder)
    return folder


def settings_for(servers: Servers, root: Path, base: Path | None, **overrides) -> FinetuneSettings:
    training = {**CPU, "learning_rate": 1e-2, "max_steps": 20, **overrides.pop("training", {})}
    return FinetuneSettings(
        _env_file=None, base_model=base, adapters_dir=root, lora={"rank": 8},
        training=training, data={"heldout_fraction": 0.25},
        vllm={"url": f"{servers.vllm_url}/v1"},
        answer_service={"url": servers.answers_url, "timeout_s": 10}, **overrides,
    )  # fmt: skip


def publish_leave_policy(answers: AnswerService, teams: range) -> str:
    """One document per team, ingested by the answer service; returns the knowledge base.

    Named `hr` exactly (each test has its own app): chunk ids, and with them the train and
    held-out split, are then the same in every session.
    """
    hr = answers.create_kb("hr", exact=True)
    answers.upload(hr, {f"handbook-{team}.txt": leave_chunk(team).text for team in teams})
    return hr


def install(settings: FinetuneSettings, adapter: Path) -> str:
    """Put `adapter` in service by hand, as an earlier promotion would have."""
    registry = AdapterRegistry(settings.adapters_dir)
    assert settings.base_model is not None
    info = registry.create_version(
        adapter, base_model=settings.base_model, parent=None, data={}, settings={},
        metrics={}, gate=None, eval_report={},
    )  # fmt: skip
    with open_rollout(settings, registry) as rollout:
        rollout.promote(info.version)
    return info.version


def served(servers: Servers, registry: AdapterRegistry) -> tuple:
    current = registry.current()
    return (current.version if current else None, servers.answers.model, dict(servers.vllm.loras))


def test_a_better_adapter_is_promoted_and_the_next_run_finds_nothing_new(
    servers, tiny_lm, tmp_path
):
    answers = servers.answers
    hr = publish_leave_policy(answers, range(24))
    (contacts,) = answers.upload(hr, {"contacts.txt": f"Questions about leave go to {EMAIL}."})
    question = "How many days of leave does team 3 get?"
    cited = answers.citation(hr, question, "handbook-3.txt")
    answers.rate(question, "23 days [1].", 5, [{**cited, "number": 1}])
    settings = settings_for(servers, tmp_path / "ft", tiny_lm)

    outcome = run_once(settings)

    assert outcome.status == "ok", outcome.message
    registry = AdapterRegistry(settings.adapters_dir)
    version = registry.get(outcome.version or "")
    name = f"kb-lora-{version.version}"
    assert outcome.message.startswith(f"promoted {version.version} as {name}: perplexity")
    assert served(servers, registry) == (version.version, name, {name: str(version.path)})
    assert version.manifest.parent is None
    assert version.manifest.data["run"] == outcome.run_id
    gate = outcome.details["gate"]
    assert gate["against"] == "base"
    assert gate["candidate_perplexity"] < 0.98 * gate["current_perplexity"]
    built = outcome.details["dataset"]
    assert built["causal"] == 25
    assert built["feedback"] == 1
    assert built["heldout"] > 0
    assert built["train"] + built["heldout"] == 26
    assert outcome.details["pii"] == {"EMAIL": 1}
    folder = settings.adapters_dir / "datasets" / str(outcome.run_id)
    written = "".join(p.read_text() for p in folder.glob("*.jsonl"))
    assert "[EMAIL]" in written
    assert EMAIL not in written
    assert not list((settings.adapters_dir / "work").iterdir())
    (run,) = registry.runs()
    assert (run.status, run.trigger, run.version, run.dataset) == (
        "ok", "manual", version.version, outcome.run_id
    )  # fmt: skip
    assert run.cursor == Cursor(
        documents_after=instant(contacts), documents_seen=[f"{hr}/{contacts['id']}"],
        feedback_after=1,
    )  # fmt: skip

    again = run_once(settings)

    assert (again.status, again.message, again.version) == ("skipped", "skipped: nothing new", None)
    assert registry.runs()[-1].cursor == run.cursor
    assert len(registry.list_versions()) == 1


def test_a_worse_adapter_is_rejected_with_its_figures_and_nothing_changes(
    servers, tiny_lm, trained, tmp_path
):
    publish_leave_policy(servers.answers, range(30, 54))
    # A learning rate this high wrecks the adapter it warm-starts from.
    settings = settings_for(servers, tmp_path / "ft", tiny_lm, training={"learning_rate": 5.0})
    current = install(settings, trained[0])
    registry = AdapterRegistry(settings.adapters_dir)
    before = served(servers, registry)

    outcome = run_once(settings)

    assert outcome.status == "rejected", outcome.message
    assert f"vs {current}" in outcome.message
    assert "not better by 2.0%" in outcome.message
    gate = outcome.details["gate"]
    assert gate["candidate_perplexity"] > gate["current_perplexity"]
    assert gate["against"] == current
    rejected = registry.get(outcome.version or "")
    assert rejected.status == "rejected"
    assert rejected.manifest.parent == current  # warm-started from the adapter in service
    assert rejected.manifest.gate["promote"] is False  # type: ignore[index]
    assert served(servers, registry) == before
    run = registry.runs()[-1]
    # The data was consumed: the cursor moves on and the dataset joins the replay pool.
    assert run.cursor is not None
    assert run.cursor.documents_after is not None
    assert run.dataset == outcome.run_id


def test_a_failed_alias_update_fails_the_run_and_leaves_service_as_it_was(
    servers, tiny_lm, noise_adapter, tmp_path
):
    publish_leave_policy(servers.answers, range(60, 84))
    settings = settings_for(servers, tmp_path / "ft", tiny_lm)
    current = install(settings, noise_adapter)
    registry = AdapterRegistry(settings.adapters_dir)
    before = served(servers, registry)
    servers.answers.faults.fail(500, method="PUT", path="/v1/model-alias")

    outcome = run_once(settings)

    assert outcome.status == "failed"
    assert "model-alias: HTTP 500" in outcome.message
    assert served(servers, registry) == before
    candidate = registry.get(outcome.version or "")
    assert candidate.manifest.gate["promote"] is True  # type: ignore[index]
    assert candidate.status == "rejected"
    name = f"kb-lora-{candidate.version}"
    assert servers.vllm.lora_log[-2:] == [("load", name), ("unload", name)]
    run = registry.runs()[-1]
    assert (run.status, run.cursor, run.dataset) == ("failed", Cursor(), None)
    assert not (settings.adapters_dir / "datasets" / str(outcome.run_id)).exists()
    assert registry.current().version == current  # type: ignore[union-attr]


def test_a_training_failure_is_recorded_and_the_scheduled_job_goes_on(servers, tmp_path):
    # Enough documents that some fall in the training split (the split is by content hash).
    publish_leave_policy(servers.answers, range(8))
    settings = settings_for(servers, tmp_path / "ft", tmp_path / "no-such-model")
    job = build_scheduler(settings).get_job(JOB_ID)

    assert job.func(*job.args) is None  # the scheduler's own job function does not raise

    registry = AdapterRegistry(settings.adapters_dir)
    (run,) = registry.runs()
    assert run.status == "failed"
    assert run.trigger == "schedule"
    assert "no-such-model is not a model folder" in run.message
    assert run.cursor == Cursor()  # the same data is taken again next time
    assert run.details["collected"]["chunks"] == 8
    assert registry.list_versions() == []
    assert not list((settings.adapters_dir / "datasets").iterdir())
    assert servers.vllm.loras == {}
    assert servers.answers.model == "kb-base"


def runs_counted(status: str) -> float:
    return REGISTRY.get_sample_value("kb_finetune_runs_total", {"status": status}) or 0.0


def test_missing_configuration_fails_the_run_with_a_clear_message(servers, tmp_path):
    failed = runs_counted("failed")
    no_base = settings_for(servers, tmp_path / "a", None)
    assert "set KB_FINETUNE_BASE_MODEL" in run_once(no_base).message
    no_vllm = settings_for(servers, tmp_path / "b", tmp_path).model_copy(
        update={"vllm": no_base.vllm.model_copy(update={"url": None})}
    )
    outcome = run_once(no_vllm)
    assert (outcome.status, outcome.message) == (
        "failed", "failed: no vLLM server is configured: set KB_FINETUNE_VLLM__URL"
    )  # fmt: skip
    assert AdapterRegistry(tmp_path / "b").runs()[-1].status == "failed"
    assert runs_counted("failed") == failed + 2  # what /metrics shows as runs by outcome


def test_ratings_with_nothing_to_learn_are_consumed_without_training(servers, tmp_path):
    servers.answers.rate("Leave?", "No idea.", 1, [])
    settings = settings_for(servers, tmp_path / "ft", tmp_path / "never-loaded")
    outcome = run_once(settings)
    assert outcome.status == "skipped"
    assert outcome.message.startswith("skipped: nothing new to train on")
    assert outcome.details["dataset"]["feedback_low_rating"] == 1
    run = AdapterRegistry(settings.adapters_dir).runs()[-1]
    assert run.cursor == Cursor(feedback_after=1)
    assert run_once(settings).message == "skipped: nothing new"


def test_a_run_is_skipped_while_another_process_holds_the_lock(servers, tmp_path):
    settings = settings_for(servers, tmp_path / "ft", tmp_path / "never-loaded")
    lock = settings.run_lock
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys\n"
         f"handle = open({str(lock)!r}, 'a')\n"
         "fcntl.flock(handle, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        skipped = runs_counted("skipped")
        outcome = run_once(settings)
        assert (outcome.run_id, outcome.status, outcome.message) == (None, "skipped", BUSY)
        assert runs_counted("skipped") == skipped + 1
        assert AdapterRegistry(settings.adapters_dir).runs() == []
    finally:
        holder.communicate("")
    # Released by the other process: the next run goes ahead.
    assert run_once(settings).message == "skipped: nothing new"


def test_a_run_left_running_by_a_dead_process_is_marked_failed(servers, tmp_path):
    settings = settings_for(servers, tmp_path / "ft", tmp_path / "never-loaded")
    registry = AdapterRegistry(settings.adapters_dir)
    started = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)
    registry.record_run(RunRecord(id="dead", started=started, status="running"))
    leftover = settings.adapters_dir / "datasets" / "dead"
    leftover.mkdir(parents=True)
    run_once(settings)
    first = registry.runs()[0]
    assert (first.id, first.status) == ("dead", "failed")
    assert "interrupted" in first.message
    assert not leftover.exists()
