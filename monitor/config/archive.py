"""The web-archive keys of config.yaml: top-level `archive_url` and `archive:`, and a target's `archive:`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from monitor.models import ArchiveSettings

DEFAULT_ARCHIVE_URL = ArchiveSettings.url


class ArchiveSchema(BaseModel):
    """How politely the archive is asked (the defaults stay well under one request per second)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_interval: Annotated[float, Field(ge=0, le=3600)] = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    backoff: Annotated[float, Field(ge=0, le=600)] = 5.0
    rate_limit_wait: Annotated[float, Field(ge=0, le=3600)] = 60.0
    max_retry_after: Annotated[float, Field(ge=0, le=3600)] = 300.0
    timeout: Annotated[float, Field(gt=0, le=600)] = 60.0
    page_size: Annotated[int, Field(ge=1, le=10000)] = 1000


class TargetArchiveSchema(BaseModel):
    """A target's use of the archive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fallback: bool = False


def check_archive_url(value: str) -> str:
    """Return the archive's base URL without a trailing slash; raise ValueError unless it is http(s)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    return value.rstrip("/")


def to_archive_settings(url: str, schema: ArchiveSchema) -> ArchiveSettings:
    """Return the ArchiveSettings for the parsed keys."""
    return ArchiveSettings(url=url, **schema.model_dump())
