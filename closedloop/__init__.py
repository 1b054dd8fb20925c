"""closedloop: quote-to-cash reconciliation and business observability for professional-services firms."""

__version__ = "0.1.0"
