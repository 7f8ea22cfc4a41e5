"""`python -m serving` is the `kb` command."""

from serving.cli import cli

cli(prog_name="kb")
