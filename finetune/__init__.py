"""Fine-tuning service: scheduled, incremental LoRA adapters for the vLLM that answers.

Owns the training side: dataset building from new chunks and rated answers (RAFT with an
LLM, causal LM without; PII masked, replay mixed in, held-out split by hash) in
`finetune.dataset`, peft LoRA training behind the `Trainer` seam (`finetune.train`), held-out
perplexity and the promotion gate (`finetune.evaluate`), and the immutable adapter versions
with their registry (`finetune.registry`). Settings: `finetune.settings.FinetuneSettings`.
"""
