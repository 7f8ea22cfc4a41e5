"""Settings of the fine-tuning service, read from `KB_FINETUNE_*` variables once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.llm.settings import LLMSettings
from core.settings import default_data_dir
from finetune.crontab import cron_trigger

# vLLM's LoRAConfig refuses any other `max_lora_rank` (components.md §2.3).
VLLM_RANKS = frozenset({1, 8, 16, 32, 64, 128, 256, 320, 512})
ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def finetune_dir() -> Path:
    """`<data dir>/finetune`: adapters, datasets and the registry."""
    return default_data_dir() / "finetune"


class LoraSettings(BaseModel):
    """The adapter's shape; only what vLLM's multi-LoRA serving accepts."""

    rank: int = Field(
        16,
        description="LoRA rank r; one of 1, 8, 16, 32, 64, 128, 256, 320, 512 (vLLM's set). "
        "vLLM serves up to --max-lora-rank, 16 by default.",
    )
    alpha: int | None = Field(
        None, gt=0, description="LoRA alpha; unset means 2 x rank (Biderman et al. 2024)."
    )
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA branch.")
    target_modules: list[str] = Field(
        default_factory=lambda: list(ALL_PROJECTIONS),
        min_length=1,
        description="Attention and MLP projections only: vLLM refuses adapters that train "
        "embeddings or the LM head.",
    )

    @field_validator("rank")
    @classmethod
    def _servable_rank(cls, rank: int) -> int:
        if rank not in VLLM_RANKS:
            raise ValueError(
                f"rank {rank} cannot be served by vLLM; use one of {sorted(VLLM_RANKS)}"
            )
        return rank

    @field_validator("target_modules")
    @classmethod
    def _no_embeddings(cls, modules: list[str]) -> list[str]:
        bad = [m for m in modules if m in ("embed_tokens", "lm_head", "wte", "embed_out")]
        if bad:
            raise ValueError(f"vLLM cannot serve LoRA on {bad}; target projections only")
        return modules

    @property
    def lora_alpha(self) -> int:
        """The alpha actually used."""
        return self.alpha if self.alpha is not None else 2 * self.rank


class TrainingSettings(BaseModel):
    """The optimisation loop; also used to evaluate (sequence length, batch, device)."""

    learning_rate: float = Field(2e-4, gt=0, description="AdamW learning rate, held constant.")
    epochs: int = Field(2, ge=1, description="Passes over the training set (unless max_steps).")
    max_steps: int | None = Field(
        None, ge=1, description="Optimizer steps in all; when set it replaces epochs."
    )
    batch_size: int = Field(4, ge=1, description="Examples per optimizer step.")
    max_seq_len: int = Field(
        1024, ge=16, description="Tokens per example; longer completions are cut at the end."
    )
    seed: int = Field(0, description="Seeds torch and random: the same data gives the same run.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="'auto' uses the GPU when torch sees one."
    )


class DataSettings(BaseModel):
    """How a run's dataset is made from new chunks, rated answers and earlier data."""

    replay_fraction: float = Field(
        0.3, ge=0, lt=1, description="Share of the training set drawn from earlier runs' data."
    )
    heldout_fraction: float = Field(
        0.1, ge=0, lt=1, description="Share of source chunks whose examples are held out."
    )
    min_rating: int = Field(
        4, description="Rated answers at or above this (1-5 scale) become examples."
    )
    distractors: int = Field(3, ge=0, le=20, description="Other passages beside the gold one.")
    no_gold_fraction: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of synthetic examples without their gold passage, whose answer is "
        "then the 'not in the knowledge base' reply (RAFT).",
    )
    max_examples: int = Field(
        2000,
        ge=1,
        description="Most new chunks (hence LLM calls) turned into examples per run; also the "
        "most held-out examples evaluated.",
    )
    llm_concurrency: int = Field(4, ge=1, le=64, description="Question requests in flight at once.")
    replay_runs: int = Field(
        30,
        ge=0,
        description="Datasets of this many earlier runs (newest first) make up the replay pool; "
        "their training sets carry older replayed examples on, so the pool stays bounded.",
    )


class GateSettings(BaseModel):
    """When a new adapter replaces the one in service."""

    min_improvement: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="Relative margin: promote only when held-out perplexity is at most "
        "(1 - min_improvement) x that of the adapter in service (or the base model).",
    )
    max_answer_f1_drop: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Refuse a candidate whose answers to held-out questions score this much "
        "lower token F1 against the reference answers than the model in service.",
    )
    quality_questions: int = Field(
        32, ge=0, description="Held-out questions answered for the quality check; 0 skips it."
    )
    quality_max_new_tokens: int = Field(
        96, ge=8, description="Longest generated answer in the quality check, in tokens."
    )


class AnswerServiceSettings(BaseModel):
    """The answer service: new documents and rated answers come from it, its alias goes back."""

    url: str = Field(
        "http://127.0.0.1:8000",
        description="Root URL of the answer service, without /v1, e.g. http://serving:8000.",
    )
    timeout_s: float = Field(30.0, gt=0, description="Longest wait for one request.")
    api_key: SecretStr | None = Field(
        None,
        description="An admin key of the answer service (one with the admin scope), needed "
        "when it has KB_AUTH__ENABLED=true: feedback export and the alias are admin-only.",
    )

    def headers(self) -> dict[str, str]:
        """The Authorization header, when a key is set."""
        key = self.api_key
        return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}


class VllmSettings(BaseModel):
    """The vLLM server that serves adapters (started with runtime LoRA updating allowed)."""

    url: str | None = Field(
        None,
        description="vLLM's OpenAI base URL including /v1, e.g. http://vllm:8000/v1 (the "
        "load/unload endpoints live under it); unset: runs fail, nothing can be published.",
    )
    api_key: SecretStr | None = Field(None, description="vLLM's --api-key, if it has one.")
    timeout_s: float = Field(
        120.0, gt=0, description="Longest wait for one request (loading reads the adapter)."
    )
    adapters_path: str | None = Field(
        None,
        description="adapters_dir as the vLLM server sees it (its mount of the same volume); "
        "unset: the same path as here.",
    )
    keep_previous: int = Field(
        1,
        ge=0,
        description="Adapters that were in service before the current one and stay loaded, "
        "for an instant rollback; older ones are unloaded (rollback reloads them if needed).",
    )
    name_prefix: str = Field(
        "kb-lora",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Adapters are served as `<prefix>-<version>`; only these are ever unloaded.",
    )


class ScheduleSettings(BaseModel):
    """When `python -m finetune schedule` runs the job (APScheduler 3.x)."""

    cron: str = Field(
        "0 3 * * *",
        description="Crontab line: minute hour day month weekday (0 or 7 = Sunday, as in cron); "
        "default 03:00 every day.",
    )
    timezone: str = Field("UTC", description="IANA time zone the cron line is read in.")
    misfire_grace_s: int = Field(
        3600,
        ge=1,
        description="A run that could not start on time (scheduler down or busy) still starts "
        "if it is at most this late; missed runs collapse into one.",
    )
    reconcile_every_s: int = Field(
        300,
        ge=0,
        description="How often to check that vLLM still has the adapter in service loaded (a "
        "restarted vLLM forgets runtime-loaded adapters) and reload it; 0: never.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    @model_validator(mode="after")
    def _valid_cron(self) -> ScheduleSettings:
        try:
            cron_trigger(self.cron, self.timezone)
        except ValueError as exc:
            raise ValueError(f"cron {self.cron!r} is not a valid crontab line: {exc}") from exc
        return self


class FinetuneSettings(BaseSettings):
    """Everything the fine-tuning service needs; nested fields use `__`."""

    model_config = SettingsConfigDict(
        env_prefix="KB_FINETUNE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    base_model: Path | None = Field(
        None,
        description="Local folder of the base model vLLM serves (nothing is downloaded); "
        "unset means fine-tuning is not configured.",
    )
    adapters_dir: Path = Field(
        default_factory=finetune_dir, description="Adapter versions, datasets and the registry."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="LLM that writes synthetic questions; without a base_url, runs train a "
        "causal-LM objective on the new text instead.",
    )
    lora: LoraSettings = Field(default_factory=LoraSettings, description="Adapter shape.")
    training: TrainingSettings = Field(
        default_factory=TrainingSettings, description="Optimisation loop and device."
    )
    data: DataSettings = Field(default_factory=DataSettings, description="Dataset recipe.")
    gate: GateSettings = Field(default_factory=GateSettings, description="Promotion rule.")
    answer_service: AnswerServiceSettings = Field(
        default_factory=AnswerServiceSettings, description="Where data comes from."
    )
    vllm: VllmSettings = Field(default_factory=VllmSettings, description="Where adapters go.")
    schedule: ScheduleSettings = Field(
        default_factory=ScheduleSettings, description="When the job runs."
    )
    lock_file: Path | None = Field(
        None,
        description="File locked (flock) while a run or a promotion is under way, so that two "
        "never overlap, whatever process started them; unset: <adapters_dir>/run.lock.",
    )

    @property
    def run_lock(self) -> Path:
        """The lock file actually used."""
        return self.lock_file or self.adapters_dir / "run.lock"
