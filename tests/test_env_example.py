"""`.env.example` documents every setting (datasette's docs-kept-honest idea)."""

from pathlib import Path

from pydantic import BaseModel
from pydantic_settings import BaseSettings

from finetune.settings import FinetuneSettings
from ingest.settings import IngestSettings
from search_proxy.settings import SearchProxySettings
from serving.settings import ServingSettings

EXAMPLE = (Path(__file__).resolve().parents[1] / ".env.example").read_text()


def env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if nested and not issubclass(annotation, BaseSettings):  # type: ignore[arg-type]
            names += env_names(annotation, f"{prefix}{name.upper()}__")  # type: ignore[arg-type]
            continue
        if field.validation_alias is None:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_in_env_example():
    names = env_names(IngestSettings, "KB_") + env_names(ServingSettings, "KB_")
    names += env_names(SearchProxySettings, "KB_SEARCH_")
    names += env_names(FinetuneSettings, "KB_FINETUNE_")
    missing = [name for name in names if f"{name}=" not in EXAMPLE]
    assert not missing, f"add these to .env.example: {missing}"
