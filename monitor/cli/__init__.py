"""Command line: a thin click shell over the library.

main.py holds the commands and `main()` (the console script); base.py the shared options and the exit codes,
which are decided only here; review.py and store.py add the review and storage commands; output.py formats
results as lines or JSON. Each command opens what it needs, calls one library function and turns
`MonitorError` into a one-line message and an exit status.
"""

from monitor.cli.main import main

__all__ = ["main"]
