"""`python -m tidings.cli` is the `tidings` command."""

from tidings.cli.main import main

main()
