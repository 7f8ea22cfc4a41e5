"""LoRA training throughput and peak memory: the tiny test model on CPU, a 0.5B model on GPU.

Run by hand from the repository root (nothing else should run meanwhile):

    .venv/bin/python bench/finetune.py                                  # tiny Llama, CPU
    python bench/finetune.py --size 0.5b --device cuda                  # Qwen2-0.5B shape, bf16

Only torch, transformers and peft are needed (a bare GPU machine will do): the model is built
from a configuration with seeded random weights, nothing is downloaded, and the loop timed is
`finetune.loop.train_steps`, the one `LoraTrainer` runs, with the adapter `LoraTrainer`
builds (all seven projections, no modules_to_save). Sequences have the shape of RAFT examples
(about 640 prompt tokens: instructions, four passages and a question; about 64 answer
tokens, the only ones in the loss), as random token ids: speed does not depend on the text.

tokens/s counts every non-padding token through forward and backward, after `--warmup`
untimed steps. Peak memory: CUDA's allocator peak on a GPU (weights, activations, optimizer
state), the growth of the resident set on CPU (see `finetune.peak`), model creation included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from peft import get_peft_model  # noqa: E402
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config  # noqa: E402

from finetune.loop import IGNORE, Encoded, lora_config, train_steps  # noqa: E402
from finetune.peak import PeakMemory  # noqa: E402

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def config(size: str) -> Any:
    if size == "tiny":  # the shape of tests/support/tiny_lm.py
        return LlamaConfig(
            vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
            tie_word_embeddings=False,
        )  # fmt: skip
    # Qwen2.5-0.5B's published shape: 494M parameters, most of them the 151,936-token embedding.
    return Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        tie_word_embeddings=True,
    )  # fmt: skip


def examples(vocab: int, count: int, prompt: int, answer: int, seed: int) -> list[Encoded]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        p, a = int(prompt * rng.uniform(0.8, 1.2)), int(answer * rng.uniform(0.8, 1.2))
        ids = [rng.randrange(3, vocab) for _ in range(p + a)]
        out.append(Encoded(ids, [IGNORE] * p + ids[p:]))
    return out


def cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "cpu"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{names[0]} ({os.cpu_count()} cores)" if names else "cpu"


def run(args: argparse.Namespace) -> dict[str, Any]:
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    torch.manual_seed(args.seed)
    cfg = config(args.size)
    data = examples(cfg.vocab_size, 64, args.prompt_tokens, args.answer_tokens, args.seed)
    with PeakMemory(device) as peak:
        with device:
            base = AutoModelForCausalLM.from_config(cfg, dtype=dtype)  # type: ignore[no-untyped-call]
        base.config.use_cache = False
        params = sum(p.numel() for p in base.parameters())
        model = get_peft_model(base, lora_config(args.rank, 2 * args.rank, 0.05, PROJECTIONS))
        common = {"pad": 0, "device": device, "learning_rate": 2e-4, "batch_size": args.batch}
        train_steps(model, data, steps=args.warmup, seed=args.seed, **common)
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        losses, tokens = train_steps(model, data, steps=args.steps, seed=args.seed + 1, **common)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "size": args.size, "device": torch.cuda.get_device_name() if cuda else cpu_name(),
        "threads": torch.get_num_threads(), "dtype": str(dtype).removeprefix("torch."),
        "params_m": round(params / 1e6, 1),
        "lora_params_m": round(trainable / 1e6, 2), "rank": args.rank, "batch": args.batch,
        "steps": args.steps, "tokens": tokens, "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds), "peak_mib": round(peak.bytes / 2**20),
        "memory": peak.kind, "first_loss": round(losses[0], 3), "last_loss": round(losses[-1], 3),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "0.5b"], default="tiny")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--prompt-tokens", type=int, default=640)
    parser.add_argument("--answer-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the row to this file")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no CUDA device")
    # peft reads a property transformers 5 deprecated; nothing to act on here.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    row = run(args)
    width = max(len(key) for key in row)
    print(f"LoRA training benchmark (torch {torch.__version__}, pid {os.getpid()})")
    for key, value in row.items():
        print(f"  {key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
