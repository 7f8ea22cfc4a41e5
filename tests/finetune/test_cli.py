"""`python -m finetune` / `kb finetune`: list, promote, rollback, run-now, and their errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from finetune.cli import cli
from finetune.lock import run_lock
from finetune.registry import AdapterRegistry
from tests.finetune.conftest import KEY, Servers
from tests.finetune.test_publish import versions


@pytest.fixture
def servers(fresh: Servers) -> Servers:
    """Nothing to collect: no knowledge base, and no rating in this module's answer app."""
    assert fresh.answers.last_feedback_id() == 0
    return fresh


@pytest.fixture
def env(servers, tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return {
        "KB_FINETUNE_ADAPTERS_DIR": str(tmp_path / "finetune"),
        "KB_FINETUNE_BASE_MODEL": str(tmp_path / "no-model"),
        "KB_FINETUNE_VLLM__URL": f"{servers.vllm_url}/v1",
        "KB_FINETUNE_VLLM__API_KEY": KEY,
        "KB_FINETUNE_ANSWER_SERVICE__URL": servers.answers_url,
        "COLUMNS": "200",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_list_promote_and_rollback(servers, env, tmp_path):
    registry = AdapterRegistry(tmp_path / "finetune")
    one, two = versions(registry, tmp_path, 2)
    listed = invoke(env, "list")
    assert listed.exit_code == 0
    assert f"{one} │ candidate" in listed.output
    assert f"{two} │ candidate" in listed.output

    promoted = invoke(env, "promote", one[:5])  # a unique start will do
    assert (promoted.exit_code, promoted.output) == (0, f"in service: kb-lora-{one}\n")
    invoke(env, "promote", two)
    assert servers.answers.model == f"kb-lora-{two}"
    table = invoke(env, "list").output
    assert f"│ * │ {two} │ promoted" in table
    assert f"│   │ {one} │ retired" in table

    rolled = invoke(env, "rollback")
    assert (rolled.exit_code, rolled.output) == (0, f"rolled back to {one}\n")
    assert servers.answers.model == f"kb-lora-{one}"
    assert registry.current().version == one  # type: ignore[union-attr]
    assert sorted(servers.vllm.loras) == [f"kb-lora-{one}", f"kb-lora-{two}"]

    again = invoke(env, "rollback")
    assert again.exit_code == 2
    assert "error: there is no previous version to roll back to" in again.output
    unknown = invoke(env, "promote", "v0")
    assert unknown.exit_code == 2
    assert "'v0' names 2 versions" in unknown.output


def test_promotion_waits_for_no_run_it_says_so(servers, env, tmp_path):
    registry = AdapterRegistry(tmp_path / "finetune")
    (one,) = versions(registry, tmp_path, 1)
    with run_lock(tmp_path / "finetune" / "run.lock"):
        busy = invoke(env, "promote", one)
    assert busy.exit_code == 2
    assert "another fine-tuning run or promotion holds" in busy.output
    assert registry.current() is None
    assert servers.vllm.loras == {}


def test_run_now_reports_the_outcome_and_fails_with_the_run(servers, env, tmp_path):
    nothing = invoke(env, "run-now")
    assert (nothing.exit_code, nothing.output) == (0, "skipped: nothing new\n")
    servers.answers.faults.fail(503)
    broken = invoke(env, "run-now")
    assert broken.exit_code == 1
    assert "failed: answer service at" in broken.output
    listed = invoke(env, "list").output
    assert "│ manual  │ skipped │" in listed
    assert "│ manual  │ failed  │" in listed


def test_invalid_settings_are_reported_not_thrown(env):
    broken = invoke({**env, "KB_FINETUNE_SCHEDULE__CRON": "every night"}, "run-now")
    assert broken.exit_code == 2
    assert "error: the KB_FINETUNE_* settings are invalid" in broken.output
    assert "5 fields" in broken.output


def test_python_dash_m_finetune_is_the_same_command(env, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "finetune", "list"], env={**os.environ, **env}, cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "adapter versions" in done.stdout
    assert "recent runs" in done.stdout
