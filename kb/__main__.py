"""`python -m kb` is the `kb` command."""

from kb.cli import cli

cli(prog_name="kb")
