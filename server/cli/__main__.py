"""``python -m server.cli``: the same as the ``compendium`` entry point."""

from server.cli import main

main()
