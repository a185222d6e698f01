"""The `email:` section of config.yaml: schema and conversion to EmailSettings (used by config.py)."""

from __future__ import annotations

import re
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.models import EmailSettings


class EmailSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    enabled: bool = False
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    sender: str = Field("monitor@localhost", alias="from")
    to: tuple[str, ...] = ()
    mode: Literal["digest", "each"] = "digest"
    on: tuple[Literal["changed", "error", "removed", "recovered"], ...] = ("changed", "error", "removed",
                                                                            "recovered")
    timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    tls_ca_file: str | None = None
    report_url: str | None = None
    max_diff_chars: Annotated[int, Field(ge=500)] = 20_000
    retry_backoff: Annotated[float, Field(ge=0, le=86400)] = 60.0
    flush_every: Annotated[float, Field(ge=1, le=86400)] = 60.0

    @field_validator("sender", "to", "username", "host")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        for item in value if isinstance(value, tuple) else [value]:
            if item is not None and re.search(r"[\r\n\0]", item):
                raise ValueError("must not contain line breaks")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"{value!r} is not an email address (like 'Monitor <monitor@example.org>')")
        return value

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if "@" not in parseaddr(item)[1]:
                raise ValueError(f"{item!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _complete(self) -> EmailSchema:
        if self.enabled and not self.to:
            raise ValueError("'to' needs at least one address when email is enabled")
        if self.username and not self.password_env:
            raise ValueError("give 'password_env', the environment variable holding the password for 'username'")
        return self


def to_email_settings(schema: EmailSchema, base: Path) -> EmailSettings:
    """Return EmailSettings: the port defaults by security (465 ssl, 587 starttls, 25 none); paths resolve
    against `base`."""
    values = schema.model_dump()
    values["port"] = schema.port or {"ssl": 465, "starttls": 587, "none": 25}[schema.security]
    values["tls_ca_file"] = (base / schema.tls_ca_file).resolve() if schema.tls_ca_file else None
    return EmailSettings(**values)
