"""docker-compose.yml against the official compose-spec schema, and the topology it promises.

No Docker engine runs here or in CI: the file is validated with the compose-spec JSON schema
that check-jsonschema ships (no download at test time), and its shape is checked as data:
who publishes ports, who reaches the internet, secrets, healthchecks, limits, pinned images,
and that every variable it sets for our services is a real setting.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from pydantic import BaseModel

from finetune.settings import FinetuneSettings
from ingest.settings import IngestSettings
from search_proxy.settings import SearchProxySettings
from serving.settings import ServingSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {"serving", "ingest", "search-proxy", "finetune"}
# Variables our image reads that are not settings: libpq's password (filled by the
# entrypoint from PGPASSWORD_FILE) and Hugging Face's offline switch.
NOT_SETTINGS = {"PGPASSWORD", "HF_HUB_OFFLINE"}


def errors(document: dict[str, Any]) -> list[str]:
    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    found = validator.iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def test_the_compose_file_follows_the_compose_spec():
    assert errors(COMPOSE) == []


def test_the_schema_check_refuses_what_compose_refuses():
    # The old file's mistake: env_file as a mapping, where the spec wants a string or a list.
    broken = {"services": {"api": {"image": "x:1", "env_file": {"path": ".env"}}}}
    assert errors(broken)
    assert errors({"services": {"api": {"image": "x:1", "port": ["80:80"]}}})  # a typo


def networks_of(name: str) -> set[str]:
    return set(SERVICES[name].get("networks", []))  # a list, or a mapping keyed by network


def test_only_the_reverse_proxy_publishes_ports():
    assert [name for name, s in SERVICES.items() if s.get("ports")] == ["caddy"]
    assert [name for name, s in SERVICES.items() if "edge" in networks_of(name)] == ["caddy"]


def test_only_the_search_proxy_and_searxng_reach_the_internet():
    networks = COMPOSE["networks"]
    assert networks["backend"] == {"internal": True}
    open_networks = {name for name, spec in networks.items() if not (spec or {}).get("internal")}
    assert open_networks == {"edge", "egress"}
    egress = {name for name in SERVICES if "egress" in networks_of(name)}
    assert egress == {"search-proxy", "searxng"}
    for name, service in SERVICES.items():
        assert service.get("network_mode") is None, name
        assert "backend" in networks_of(name), f"{name} is not on the internal network"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_is_healthchecked_restarted_limited_and_rotated(name):
    service = SERVICES[name]
    assert service["healthcheck"]["test"], name
    assert service["restart"] == "unless-stopped"
    assert service["logging"]["options"]["max-size"]
    assert service["deploy"]["resources"]["limits"]["memory"]
    for dependency in service.get("depends_on", {}).values():
        assert dependency == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name):
    image = SERVICES[name]["image"]
    if "build" in SERVICES[name]:  # built here, from pinned bases (test_dockerfile)
        assert image.split(":")[0] in ("kb", "kb-trainer", "kb-tika"), image
        return
    tag = image.rpartition(":")[2]
    assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_qdrant_client_matches_the_qdrant_server():
    server = SERVICES["qdrant"]["image"].rpartition(":v")[2]
    client = version("qdrant-client")
    assert server.split(".")[:2] == client.split(".")[:2], (server, client)
    assert f'"qdrant-client=={client}"' in (ROOT / "pyproject.toml").read_text()


def test_profiles_hold_the_optional_parts():
    profiles: dict[str, set[str]] = {}
    for name, service in SERVICES.items():
        for profile in service.get("profiles", ["default"]):
            profiles.setdefault(profile, set()).add(name)
    assert profiles["cluster"] == {"qdrant-2", "qdrant-3"}
    assert profiles["llm"] == {"vllm", "finetune"}
    assert profiles["auth"] == {"keycloak"}
    assert profiles["monitoring"] == {"prometheus", "grafana", "node-exporter"}
    core = {"caddy", "open-webui", "serving", "ingest", "search-proxy", "searxng", "postgres",
            "redis", "qdrant", "tika"}  # fmt: skip
    assert profiles["default"] == core
    for name in core:  # the default stack never waits for an optional service
        assert set(SERVICES[name].get("depends_on", {})) <= core


def env_of(name: str) -> dict[str, Any]:
    environment = SERVICES[name].get("environment", {})
    assert isinstance(environment, dict), f"{name}: use the mapping form"
    return environment


def is_setting(name: str, model: type[BaseModel], prefix: str) -> bool:
    """Whether `name` is a variable pydantic-settings maps onto a field of `model`."""
    for field_name, field in model.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or []
        if prefix == "KB_" and name in choices:
            return True
        variable = f"{prefix}{field_name.upper()}"
        annotation = field.annotation
        if name == variable:
            return True
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if nested and name.startswith(variable + "__"):
            return is_setting(name, annotation, variable + "__")  # type: ignore[arg-type]
    return False


SETTINGS: dict[str, list[tuple[type[BaseModel], str]]] = {
    "serving": [(ServingSettings, "KB_"), (IngestSettings, "KB_")],
    "ingest": [(IngestSettings, "KB_")],
    "search-proxy": [(SearchProxySettings, "KB_SEARCH_")],
    "finetune": [(FinetuneSettings, "KB_FINETUNE_")],
}


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_set_for_our_services_is_a_real_setting(name):
    unknown = []
    for variable, value in env_of(name).items():
        # The entrypoint turns X_FILE=/run/secrets/... into X.
        secret = str(value).startswith("/run/secrets/")
        plain = variable.removesuffix("_FILE") if secret else variable
        if plain in NOT_SETTINGS:
            continue
        if not any(is_setting(plain, model, prefix) for model, prefix in SETTINGS[name]):
            unknown.append(variable)
    assert unknown == []


def test_the_setting_check_notices_a_misspelt_variable():
    assert is_setting("KB_STORE__QDRANT_URL", IngestSettings, "KB_")
    assert is_setting("TIKA_URL", IngestSettings, "KB_")
    assert not is_setting("KB_STORE__QDRANT_ULR", IngestSettings, "KB_")
    assert not is_setting("KB_LLM_BASE_URL", ServingSettings, "KB_")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_secret_files_are_mounted_where_the_variables_say(name):
    mounted = set(SERVICES[name].get("secrets", []))
    assert mounted <= set(COMPOSE["secrets"])
    for variable, value in env_of(name).items():
        if variable.endswith(("_FILE", "__FILE")) and str(value).startswith("/run/secrets/"):
            assert str(value).removeprefix("/run/secrets/") in mounted, (name, variable)


def test_no_secret_value_is_written_in_the_compose_file():
    for name in SERVICES:
        for variable, value in env_of(name).items():
            if re.search(r"PASSWORD|API_KEY|SECRET", variable) and not variable.endswith("FILE"):
                assert value is None, (name, variable)


def test_vllm_and_the_trainer_agree_on_gpus_and_lora_rank():
    vllm, trainer = SERVICES["vllm"], SERVICES["finetune"]
    gpu = {
        name: SERVICES[name]["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]
        for name in ("vllm", "finetune")
    }
    assert gpu == {"vllm": ["${KB_VLLM_GPU:-0}"], "finetune": ["${KB_TRAIN_GPU:-1}"]}
    command = vllm["command"]
    rank = command[command.index("--max-lora-rank") + 1]
    assert rank == "${KB_MAX_LORA_RANK:-16}"
    assert env_of("finetune")["KB_FINETUNE_VLLM__MAX_LORA_RANK"] == rank
    assert "--gpu-memory-utilization" in command
    # vLLM reads the adapters the trainer writes: the same volume, at the same path.
    assert "adapters:/adapters" in trainer["volumes"]
    assert "adapters:/adapters:ro" in vllm["volumes"]
    assert "VLLM_API_KEY=" in " ".join(vllm["entrypoint"])
    assert env_of("serving")["KB_LLM__MODEL"] == command[command.index("--served-model-name") + 1]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_mounted_configuration_exists(name):
    for volume in SERVICES[name].get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repo"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_operator_env_files_are_optional_and_have_an_example(name):
    for env_file in SERVICES[name].get("env_file", []):
        assert env_file["required"] is False, name  # the stack starts without them
        path = ROOT / env_file["path"]
        assert path.with_name(path.name + ".example").is_file(), env_file["path"]
        assert str(path.relative_to(ROOT)) in (ROOT / ".gitignore").read_text()


def test_the_api_requires_keys_and_its_clients_can_send_them():
    # Beyond loopback the API refuses to run without authentication.
    assert env_of("serving")["KB_AUTH__ENABLED"] == "true"
    examples = {
        "open-webui": "OPENAI_API_KEY=",
        "finetune": "KB_FINETUNE_ANSWER_SERVICE__API_KEY=",
    }
    for name, line in examples.items():
        (env_file,) = SERVICES[name]["env_file"]
        assert line in (ROOT / (env_file["path"] + ".example")).read_text()


def test_every_compose_variable_is_documented():
    text = (ROOT / "docker-compose.yml").read_text()
    variables = set(re.findall(r"\$\{(\w+)", text))
    example = (ROOT / ".env.example").read_text()
    assert variables
    assert [v for v in sorted(variables) if f"# {v}=" not in example] == []
