"""The command line: ``starcoach COMMAND ...`` (the console script is ``starcoach.cli:run``).

``env`` (streams, variables), ``parser`` (every flag), ``main`` (dispatch and
exit statuses), and one thin module per command that turns arguments into
calls on the pipeline and the views.  ``common`` holds what several commands
share (catalogue, data folder, vault, speech model).
"""

from starcoach.cli.main import main, run

__all__ = ["main", "run"]
