"""monitor: watch web pages for changes (fetch, normalize, snapshot, diff, report)."""

__version__ = "0.1.0"
