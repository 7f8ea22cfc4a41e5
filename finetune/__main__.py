"""`python -m finetune schedule | run-now | list | promote VERSION | rollback`."""

from finetune.cli import cli

if __name__ == "__main__":
    cli(prog_name="python -m finetune")
