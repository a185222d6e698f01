"""The `notify:` section of config.yaml: notification channels (Apprise URLs) and the reports each gets."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.errors import ConfigError
from monitor.models import ChannelSettings

Event = Literal["changed", "error", "removed", "recovered"]


class ChannelSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    url: str | None = None
    url_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    targets: tuple[str, ...] = ("*",)
    events: tuple[Event, ...] = ("changed", "error", "removed", "recovered")
    min_significance: Annotated[float, Field(ge=0, le=1)] = 0.0
    mode: Literal["digest", "each"] = "each"
    base_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    retry_backoff: Annotated[float, Field(ge=0, le=86400)] = 60.0

    @model_validator(mode="after")
    def _one_url(self) -> ChannelSchema:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give either 'url' (an Apprise URL) or 'url_env' (the environment variable holding it)")
        if self.url is not None and not re.match(r"^[a-z][a-z0-9+.-]*://", self.url):
            raise ValueError("'url' is not an Apprise URL like json://host/path or ntfy://host/topic")
        return self


def to_channels(schemas: tuple[ChannelSchema, ...]) -> tuple[ChannelSettings, ...]:
    """Return the channels, each named (its `name`, else `channel-N`). Raises ConfigError on a duplicate name."""
    channels = []
    for number, schema in enumerate(schemas, 1):
        name = schema.name or f"channel-{number}"
        if name in {c.name for c in channels}:
            raise ConfigError(f"notify: two channels are called {name!r}")
        channels.append(ChannelSettings(name=name, **schema.model_dump(exclude={"name"})))
    return tuple(channels)
