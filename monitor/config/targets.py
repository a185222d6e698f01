"""The `targets:` entries of config.yaml: their schema, their checks, and the `Target` each becomes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config.archive import TargetArchiveSchema
from monitor.config.checks import check_pattern, check_selector, check_url
from monitor.models import NAME_RE, Retention, Target

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_DAYS = 36500


def parse_duration(value: str | int | float) -> timedelta:
    """Return the timedelta for `30s`, `15m`, `6h`, `1d` or a number of seconds; raise ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 6h or 1d")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 1:
        raise ValueError("must be at least 1 second")
    if not seconds <= MAX_DURATION_DAYS * 86400:  # also NaN and infinity
        raise ValueError(f"must be at most {MAX_DURATION_DAYS} days")
    return timedelta(seconds=seconds)


class StrictSchema(BaseModel):
    """Every config section: unknown keys refused, frozen, strings stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _KeepSchema(StrictSchema):
    count: Annotated[int, Field(ge=1)] | None = None
    age: timedelta | None = None

    @field_validator("age", mode="before")
    @classmethod
    def _age(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _some(self) -> _KeepSchema:
        if self.count is None and self.age is None:
            raise ValueError("give 'count' and/or 'age' (or leave 'keep' out to keep everything)")
        return self


class _TargetFetchSchema(StrictSchema):
    via: Literal["http", "browser", "auto"] | None = None  # default: auto for defense.gov, http otherwise


# Sites known to answer plain clients with a bot wall: their profile fetches with `auto` unless told otherwise.
DEFAULT_VIA = {"defense.gov": "auto"}


class TargetSchema(StrictSchema):
    name: str
    url: str
    profile: Literal["generic", "defense.gov"] = "generic"
    every: timedelta | None = None
    cron: str | None = None
    timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    headers: dict[str, str] = Field(default_factory=dict)
    select: str | None = None
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    error_threshold: Annotated[int, Field(ge=1, le=1000)] = 3
    compare_versions: Annotated[int, Field(ge=1, le=50)] = 1
    keep: _KeepSchema | None = None
    keep_raw: Annotated[int, Field(ge=0, le=100000)] | None = 2
    archive: TargetArchiveSchema | None = None
    chrome: Literal["chrome", "content"] = "chrome"
    fetch: _TargetFetchSchema | None = None
    source: Literal["live", "archive"] = "live"
    paused: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a 5-field cron expression: {exc}") from None
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", key) or re.search(r"[\r\n\0]", val):
                raise ValueError(f"header {key!r} has an invalid name or a line break in its value")
        return value

    @field_validator("select")
    @classmethod
    def _select(cls, value: str | None) -> str | None:
        if value is not None:
            check_selector(value)
        return value

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            check_selector(selector)
        return value

    @field_validator("ignore")
    @classmethod
    def _ignore(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            check_pattern(pattern)
        return value

    @model_validator(mode="after")
    def _schedule(self) -> TargetSchema:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either 'every' or 'cron', not both")
        if self.source == "archive" and (self.fetch is not None or (self.archive and self.archive.fallback)):
            raise ValueError("'source: archive' reads the web archive only: leave out 'fetch' and 'archive.fallback'")
        return self


def to_target(schema: TargetSchema, default_every: timedelta) -> Target:
    """Return the Target for one validated entry, with every default applied."""
    via = schema.fetch.via if schema.fetch else None
    return Target(**{**schema.model_dump(exclude={"archive", "fetch"}),
                     "via": "http" if schema.source == "archive" else via or DEFAULT_VIA.get(schema.profile, "http"),
                     "every": schema.every if (schema.every or schema.cron) else default_every,
                     "keep": Retention(schema.keep.count, schema.keep.age) if schema.keep else None,
                     "archive_fallback": bool(schema.archive and schema.archive.fallback)})
