"""`python -m toolkit.cli` runs the `ptw` command."""

from toolkit.cli import main

main()
