"""`python -m dmq_tools ...` is the `dmq` command."""

from .cli.main import main

main(prog_name="dmq")
