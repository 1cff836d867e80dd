"""``python -m starcoach`` runs the command-line interface."""

from starcoach.cli import run

run()
