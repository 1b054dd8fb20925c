"""closedloop: quote-to-cash reconciliation and business observability for professional-services firms."""

__version__ = "0.1.0"

# the one redaction layer is in force wherever closedloop runs: CLI, serve, the app, tests
from closedloop import redact as _redact

_redact.install()
