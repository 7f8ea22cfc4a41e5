"""Fine-tuning service: scheduled, incremental LoRA adapters for the vLLM that answers.

Owns the training side: dataset building from new chunks and rated answers (RAFT with an
LLM, causal LM without; PII masked, replay mixed in, held-out split by hash) in
`finetune.dataset`, peft LoRA training behind the `Trainer` seam (`finetune.train`), held-out
perplexity and the promotion gate (`finetune.evaluate`), and the immutable adapter versions
with their registry (`finetune.registry`). Around them, the service: collection of what is
new from the answer service (`finetune.collect`), one run start to finish under a file lock
(`finetune.runner`, `finetune.cycle`), publishing to vLLM and the answer service's model
alias (`finetune.publish`, `finetune.rollout`), the APScheduler job (`finetune.scheduler`)
and the `python -m finetune` / `kb finetune` commands (`finetune.cli`). Settings:
`finetune.settings.FinetuneSettings`.
"""
