"""Publishing adapters: vLLM's runtime LoRA endpoints, the model alias, promotion and rollback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.errors import ConfigurationError, Conflict, UpstreamError
from finetune.lock import run_lock
from finetune.publish import AliasClient, VllmAdapters
from finetune.registry import AdapterRegistry
from finetune.rollout import Rollout, open_rollout
from finetune.scheduler import reconcile
from finetune.settings import FinetuneSettings, VllmSettings
from tests.finetune.conftest import KEY, Servers
from tests.support.server import serve
from tests.support.vllm_standin import VllmStandin


def settings_for(servers: Servers, root: Path, **vllm) -> FinetuneSettings:
    return FinetuneSettings(
        _env_file=None, adapters_dir=root,
        vllm={"url": f"{servers.vllm_url}/v1", "api_key": KEY, **vllm},
        answer_service={"url": servers.answers_url, "timeout_s": 5},
    )  # fmt: skip


def adapter(folder: Path) -> Path:
    """An adapter folder as peft writes it (nothing here reads the weights)."""
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    (folder / "adapter_model.safetensors").write_bytes(os.urandom(64))
    return folder


def versions(registry: AdapterRegistry, tmp_path: Path, count: int) -> list[str]:
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / "config.json").write_text('{"model_type": "llama"}')
    made = []
    for number in range(count):
        info = registry.create_version(
            adapter(tmp_path / f"trained-{number}"), base_model=base, parent=None, data={},
            settings={}, metrics={}, gate=None, eval_report={},
        )  # fmt: skip
        made.append(info.version)
    return made


@pytest.fixture
def setup(fresh, tmp_path) -> Iterator[tuple[Servers, AdapterRegistry, Rollout, list[str]]]:
    registry = AdapterRegistry(tmp_path / "finetune")
    made = versions(registry, tmp_path, 3)
    with open_rollout(settings_for(fresh, registry.root), registry) as rollout:
        yield fresh, registry, rollout, made


def test_the_stand_in_speaks_vllms_lora_protocol(fresh, tmp_path):
    folder = adapter(tmp_path / "a")
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=f"{fresh.vllm_url}/v1", headers=auth) as http:
        loaded = http.post("/load_lora_adapter", json={"lora_name": "a", "lora_path": str(folder)})
        models = http.get("/models").json()["data"]
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        fresh.vllm.strict_models = True
        known = http.post("/chat/completions", json={**chat, "model": "a"})
        unknown = http.post("/chat/completions", json={**chat, "model": "b"})
        unloaded = http.post("/unload_lora_adapter", json={"lora_name": "a"})
        anonymous = httpx.get(f"{fresh.vllm_url}/v1/models")
    assert loaded.status_code == 200
    assert loaded.text == "Success: LoRA adapter 'a' added successfully."
    assert [(m["id"], m.get("parent")) for m in models] == [("base", None), ("a", "base")]
    assert models[1]["root"] == str(folder)
    assert known.status_code == 200
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "The model `b` does not exist."
    assert unloaded.text == "Success: LoRA adapter 'a' removed successfully."
    assert anonymous.status_code == 401
    assert fresh.vllm.lora_log == [("load", "a"), ("unload", "a")]


def test_vllm_adapters_client(fresh, tmp_path):
    folder = adapter(tmp_path / "a")
    vllm = VllmAdapters(VllmSettings(url=f"{fresh.vllm_url}/v1", api_key=KEY))
    vllm.load("kb-lora-a", str(folder))
    assert vllm.loaded() == {"kb-lora-a": str(folder)}
    with pytest.raises(UpstreamError, match="HTTP 400: The lora adapter 'kb-lora-a' has already"):
        vllm.load("kb-lora-a", str(folder))
    with pytest.raises(UpstreamError, match=r"HTTP 404: Loading lora x failed: No adapter found"):
        vllm.load("x", str(tmp_path / "nowhere"))
    assert not vllm.ensure_loaded("kb-lora-a", str(folder))
    assert vllm.unload("kb-lora-a")
    assert not vllm.unload("kb-lora-a")  # vLLM's 404 for an unknown name: already gone
    assert vllm.ensure_loaded("kb-lora-a", str(folder))
    assert fresh.vllm.lora_log == [("load", "kb-lora-a"), ("unload", "kb-lora-a"),
                                   ("load", "kb-lora-a")]  # fmt: skip
    vllm.close()
    keyless = VllmAdapters(VllmSettings(url=f"{fresh.vllm_url}/v1"))
    with pytest.raises(UpstreamError, match=r"vLLM at .*/v1/models: HTTP 401"):
        keyless.loaded()
    keyless.close()
    with pytest.raises(ConfigurationError, match="KB_FINETUNE_VLLM__URL"):
        VllmAdapters(VllmSettings())


def test_alias_client(fresh):
    alias = AliasClient(settings_for(fresh, Path("/unused")).answer_service)
    assert alias.get().model == "kb-base"
    assert alias.get().target is None
    pointed = alias.set("kb-lora-v0001")
    assert (pointed.alias, pointed.model, pointed.target) == (
        "kb-base",
        "kb-lora-v0001",
        "kb-lora-v0001",
    )
    assert alias.set(None).model == "kb-base"
    fresh.answers.faults.fail(500, method="PUT", path="/v1/model-alias")
    with pytest.raises(UpstreamError, match=r"answer service at .*/v1/model-alias: HTTP 500"):
        alias.set("kb-lora-v0002")
    alias.close()


def test_promotion_and_rollback_keep_vllm_alias_and_registry_in_step(setup):
    servers, registry, rollout, (one, two, three) = setup
    names = [rollout.served_name(v) for v in (one, two, three)]
    assert names[0] == f"kb-lora-{one}"
    for version in (one, two, three):
        assert rollout.promote(version) == rollout.served_name(version)
        assert servers.answers.model == rollout.served_name(version)
        assert registry.current().version == version
    # keep_previous=1: the one in service and the one before it stay loaded.
    assert sorted(servers.vllm.loras) == names[1:]
    assert servers.vllm.loras[names[2]] == str(registry.get(three).path)
    assert servers.vllm.lora_log == [
        ("load", names[0]), ("load", names[1]), ("load", names[2]), ("unload", names[0])
    ]  # fmt: skip
    assert rollout.rollback() == two
    assert servers.answers.model == names[1]
    assert registry.current().version == two
    assert registry.get(three).status == "retired"
    assert sorted(servers.vllm.loras) == names[1:]  # instant: nothing was loaded or unloaded
    assert len(servers.vllm.lora_log) == 4
    with pytest.raises(Conflict, match="no previous version"):
        rollout.rollback()


def test_rollback_reloads_an_adapter_a_restarted_vllm_forgot(setup):
    servers, _registry, rollout, (one, two, _) = setup
    rollout.promote(one)
    rollout.promote(two)
    servers.vllm.loras.clear()  # vLLM restarted: runtime-loaded adapters are gone
    assert rollout.reconcile()
    assert list(servers.vllm.loras) == [rollout.served_name(two)]
    assert not rollout.reconcile()
    assert rollout.rollback() == one
    assert servers.answers.model == rollout.served_name(one)
    assert sorted(servers.vllm.loras) == sorted(rollout.served_name(v) for v in (one, two))


def test_a_failed_alias_update_leaves_everything_as_it_was(setup):
    servers, registry, rollout, (one, two, _) = setup
    rollout.promote(one)
    before = (dict(servers.vllm.loras), servers.answers.model, registry.current())
    servers.answers.faults.fail(500, method="PUT", path="/v1/model-alias")
    with pytest.raises(UpstreamError, match="HTTP 500"):
        rollout.promote(two)
    assert (dict(servers.vllm.loras), servers.answers.model, registry.current()) == before
    assert registry.get(two).status == "candidate"
    # It was loaded, then unloaded again when the alias could not follow.
    assert servers.vllm.lora_log[-2:] == [
        ("load", rollout.served_name(two)), ("unload", rollout.served_name(two))
    ]  # fmt: skip


def test_vllm_refusing_the_adapter_leaves_everything_as_it_was(setup):
    servers, registry, rollout, (one, _, _) = setup
    servers.vllm.lora_status = 500
    with pytest.raises(UpstreamError, match="load_lora_adapter: HTTP 500: stand-in failure"):
        rollout.promote(one)
    assert registry.current() is None
    assert servers.answers.model == "kb-base"
    assert servers.vllm.loras == {}


def test_only_our_adapters_are_ever_unloaded(fresh, tmp_path):
    registry = AdapterRegistry(tmp_path / "finetune")
    made = versions(registry, tmp_path, 3)
    theirs = VllmAdapters(VllmSettings(url=f"{fresh.vllm_url}/v1", api_key=KEY))
    theirs.load("customer-adapter", str(adapter(tmp_path / "theirs")))
    theirs.close()
    settings = settings_for(fresh, registry.root, keep_previous=0)
    with open_rollout(settings, registry) as rollout:
        for version in made:
            rollout.promote(version)
        assert sorted(fresh.vllm.loras) == ["customer-adapter", rollout.served_name(made[2])]


def test_the_path_vllm_is_given_is_its_own_mount(fresh, tmp_path):
    registry = AdapterRegistry(tmp_path / "finetune")
    (version,) = versions(registry, tmp_path, 1)
    settings = settings_for(fresh, registry.root, adapters_path="/mnt/finetune")
    with open_rollout(settings, registry) as rollout:
        assert rollout.served_path(registry.get(version)) == f"/mnt/finetune/adapters/{version}"


def test_the_reconcile_job_reloads_the_adapter_in_service_unless_a_run_is_going(fresh, tmp_path):
    registry = AdapterRegistry(tmp_path / "finetune")
    (version,) = versions(registry, tmp_path, 1)
    settings = settings_for(fresh, registry.root)
    with open_rollout(settings, registry) as rollout:
        rollout.promote(version)
        name = rollout.served_name(version)
    fresh.vllm.loras.clear()  # vLLM restarted
    with run_lock(settings.run_lock):
        reconcile(settings)  # a run holds the lock: leave vLLM alone
    assert fresh.vllm.loras == {}
    reconcile(settings)
    assert list(fresh.vllm.loras) == [name]
    fresh.vllm.lora_status = 500
    fresh.vllm.loras.clear()
    reconcile(settings)  # logged, not raised: the scheduler goes on
    assert fresh.vllm.loras == {}


@pytest.fixture
def second_vllm() -> Iterator[tuple[VllmStandin, str]]:
    """Another vLLM replica with the same key."""
    replica = VllmStandin(model="base", api_key=KEY)
    with serve(replica.app()) as url:
        yield replica, f"{url}/v1"


def test_every_replica_gets_the_adapter_and_rollback_reaches_all(fresh, second_vllm, tmp_path):
    replica, url = second_vllm
    registry = AdapterRegistry(tmp_path / "finetune")
    one, two, _ = versions(registry, tmp_path, 3)
    settings = settings_for(fresh, registry.root, url=f"{fresh.vllm_url}/v1,{url}")
    with open_rollout(settings, registry) as rollout:
        rollout.promote(one)
        rollout.promote(two)
        names = sorted(rollout.served_name(v) for v in (one, two))
        assert sorted(fresh.vllm.loras) == sorted(replica.loras) == names
        replica.loras.clear()  # that replica restarted
        assert rollout.reconcile()
        assert list(replica.loras) == [rollout.served_name(two)]
        assert rollout.rollback() == one
        assert sorted(fresh.vllm.loras) == sorted(replica.loras) == names


def test_a_replica_refusing_the_adapter_leaves_no_replica_serving_it(fresh, second_vllm, tmp_path):
    replica, url = second_vllm
    registry = AdapterRegistry(tmp_path / "finetune")
    one, _, _ = versions(registry, tmp_path, 3)
    replica.lora_status = 500
    settings = settings_for(fresh, registry.root, url=f"{fresh.vllm_url}/v1,{url}")
    with open_rollout(settings, registry) as rollout:
        with pytest.raises(UpstreamError, match="load_lora_adapter: HTTP 500"):
            rollout.promote(one)
        name = rollout.served_name(one)
    assert fresh.vllm.lora_log == [("load", name), ("unload", name)]
    assert fresh.vllm.loras == replica.loras == {}
    assert registry.current() is None
    assert fresh.answers.model == "kb-base"
