"""`python -m closedloop.cli`: the same app as the console script."""

from closedloop.cli import app

app()
