"""Config stage: owns reading config.yaml and the environment, once, at the edge.

`load_settings(path)` (settings.py) validates the file with pydantic schemas (targets.py, email.py, archive.py for
their sections), applies every default, and hands on a frozen `Settings` with its `Target`s; any problem is one
`ConfigError` naming the key path and line (yaml_lines.py). Nothing else in the monitor reads settings files.
"""

from monitor.config.settings import DEFAULT_USER_AGENT, load_settings

__all__ = ["DEFAULT_USER_AGENT", "load_settings"]
