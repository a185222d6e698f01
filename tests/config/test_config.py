"""config: valid files load with defaults; every kind of mistake is refused with key path and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.settings import DEFAULT_USER_AGENT, load_settings, parse_settings
from monitor.config.targets import parse_duration
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
snapshots_dir: data/snaps
targets:
  - name: page-one
    url: https://example.org/a
    every: 15m
  - name: page-two
    url: http://example.org/b
    cron: "0 */6 * * *"
    profile: defense.gov
    headers: {User-Agent: "custom/1.0"}
    select: "div.body"
    exclude: [".ad"]
    ignore: ["\\\\d+ views"]
"""


def test_the_profile_names_offered_are_the_profiles_there_are() -> None:
    """The CLI's choices (models.PROFILE_NAMES), the config schema's and the extract stage's profiles agree."""
    import typing

    from monitor.config.targets import TargetSchema
    from monitor.extract import PROFILES
    from monitor.models import PROFILE_NAMES

    schema = set(typing.get_args(TargetSchema.model_fields["profile"].annotation))
    assert set(PROFILE_NAMES) == schema == set(PROFILES)


def test_the_repository_config_loads() -> None:
    settings = load_settings(ROOT / "config.yaml")
    assert [t.name for t in settings.targets] == ["nato-training-suspended", "mattis-stoltenberg-remarks"]
    assert all(t.profile == "defense.gov" and t.url.startswith("https://www.defense.gov/") for t in settings.targets)
    assert settings.snapshots_dir == ROOT / "snapshots"
    assert settings.reports_dir == ROOT / "reports"


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "monitor.yaml"
    path.parent.mkdir()
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path)
    one, two = settings.targets
    assert settings.snapshots_dir == tmp_path / "conf" / "data" / "snaps"
    assert settings.reports_dir == tmp_path / "conf" / "reports"
    assert (one.profile, one.every, one.cron, one.timeout, one.headers) == (
        "generic", timedelta(minutes=15), None, 30.0, {})
    assert (two.every, two.cron, two.select, two.exclude, two.ignore) == (
        None, "0 */6 * * *", "div.body", (".ad",), ("\\d+ views",))
    assert two.headers == {"User-Agent": "custom/1.0"}
    assert settings.fetch.user_agent == DEFAULT_USER_AGENT and settings.fetch.retries == 2


def test_default_schedule_is_every_six_hours() -> None:
    settings = parse_settings("targets: [{name: a, url: 'https://x.org/'}]")
    assert settings.targets[0].every == timedelta(hours=6)


@pytest.mark.parametrize(("source", "expected"), [
    ("targets:\n  - name: a\n    url: https://x.org/\n    timout: 3\n", "<config>:4: targets[0].timout: unknown key"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    timeout: soon\n",
     "<config>:4: targets[0].timeout: Input should be a valid number"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    timeout: 0\n",
     "<config>:4: targets[0].timeout: Input should be greater than 0"),
    ("targets:\n  - {name: a, url: 'https://x.org/'}\n  - {name: a, url: 'https://y.org/'}\n",
     "<config>:3: targets[1].name: duplicate target name 'a' (also targets[0])"),
    ("targets:\n  - name: a\n    url: ftp://x.org/\n",
     "<config>:3: targets[0].url: 'ftp://x.org/' is not an http(s) URL"),
    ("targets:\n  - name: a\n    url: not a url\n", "<config>:3: targets[0].url: 'not a url' is not an http(s) URL"),
    ("targets:\n  - name: Bad_Name\n    url: https://x.org/\n", "<config>:2: targets[0].name: must be 1-64 characters"),
    ("targets:\n  - name: ../etc\n    url: https://x.org/\n", "<config>:2: targets[0].name: must be 1-64 characters"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    every: sometimes\n",
     "<config>:4: targets[0].every: 'sometimes' is not a duration"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    cron: '61 * * * *'\n",
     "<config>:4: targets[0].cron: '61 * * * *' is not a 5-field cron expression"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    every: 1h\n    cron: '0 * * * *'\n",
     "<config>:2: targets[0]: give either 'every' or 'cron', not both"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    select: 'div[['\n",
     "<config>:4: targets[0].select: 'div[[' is not a valid CSS selector"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    ignore: ['(unclosed']\n",
     "<config>:4: targets[0].ignore: '(unclosed' is not a valid regular expression"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    profile: fancy\n",
     "<config>:4: targets[0].profile: Input should be 'generic' or 'defense.gov'"),
    ("targets:\n  - name: a\n    url: https://x.org/\n    headers: {X-Bad: \"a\\nb\"}\n",
     "<config>:4: targets[0].headers: header 'X-Bad' has an invalid name or a line break"),
    ("ignore_conection_errors: true\n", "<config>:1: ignore_conection_errors: unknown key"),
    ("fetch:\n  retries: -1\n", "<config>:2: fetch.retries: Input should be greater than or equal to 0"),
    ("targets:\n  - name: a\n    name: b\n    url: https://x.org/\n", "<config>:3: targets[0].name: duplicate key"),
    ("targets: [\n", "<config>:2: invalid YAML"),
    ("- just\n- a list\n", "<config>: the top level must be a mapping"),
    ("targets:\n  - url: https://x.org/\n", "<config>:2: targets[0].name: Field required"),
])
def test_bad_config_is_refused_with_key_path_and_line(source: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(source)
    assert any(line.startswith(expected) for line in info.value.problems), info.value.problems


def test_every_problem_gets_its_own_line() -> None:
    source = ("targets:\n  - name: a\n    url: nope\n    timout: 1\n"
              "  - name: b\n    url: https://x.org\n    colour: red\n")
    with pytest.raises(ConfigError) as info:
        parse_settings(source)
    assert len(info.value.problems) == 3
    assert str(info.value).count("\n") == 2


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "missing.yaml")


def test_an_empty_file_means_no_targets(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("", encoding="utf-8")
    assert load_settings(path).targets == ()


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400),
                                                (45, 45), ("1.5h", 5400)])
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["0s", "5x", "", "-1m"])
def test_parse_duration_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_change_detection_keys_and_their_defaults() -> None:
    settings = parse_settings(GOOD + "    error_threshold: 5\n    compare_versions: 4\n"
                                      "    keep: {count: 20, age: 90d}\n")
    one, two = settings.targets
    assert (one.error_threshold, one.compare_versions, one.keep) == (3, 1, None)
    assert (two.error_threshold, two.compare_versions) == (5, 4)
    assert two.keep is not None and (two.keep.count, two.keep.age) == (20, timedelta(days=90))


@pytest.mark.parametrize(("extra", "message"), [
    ("    error_threshold: 0\n", "targets[1].error_threshold: Input should be greater than or equal to 1"),
    ("    compare_versions: 0\n", "targets[1].compare_versions: Input should be greater than or equal to 1"),
    ("    keep: {}\n", "targets[1].keep: give 'count' and/or 'age'"),
    ("    keep: {age: soon}\n", "targets[1].keep.age: 'soon' is not a duration"),
    ("    keep: {count: 5, days: 3}\n", "targets[1].keep.days: unknown key"),
])
def test_change_detection_keys_are_validated(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(GOOD + extra)
    assert message in str(info.value)


def test_email_section_defaults_and_secrets_never_in_the_file() -> None:
    email = parse_settings(GOOD + "email: {enabled: true, host: smtp.example.org, security: ssl, "
                                  "from: 'Monitor <m@example.org>', to: [a@example.org]}\n").email
    assert (email.enabled, email.port, email.mode, email.sender) == (True, 465, "digest", "Monitor <m@example.org>")
    with pytest.raises(ConfigError, match=r"email\.password: unknown key"):
        parse_settings(GOOD + "email: {username: u, password: hunter2}\n")
    with pytest.raises(ConfigError, match="give 'password_env'"):
        parse_settings(GOOD + "email: {username: u}\n")
    with pytest.raises(ConfigError, match="'to' needs at least one address"):
        parse_settings(GOOD + "email: {enabled: true}\n")
    with pytest.raises(ConfigError, match="is not an email address"):
        parse_settings(GOOD + "email: {to: [nobody]}\n")


def test_the_defense_gov_profile_fetches_via_auto_unless_told_otherwise() -> None:
    settings = parse_settings("targets:\n"
                              "  - {name: a, url: 'https://www.war.gov/x', profile: defense.gov}\n"
                              "  - {name: b, url: 'https://www.war.gov/y', profile: defense.gov, fetch: {via: http}}\n"
                              "  - {name: c, url: 'https://x.org/'}\n"
                              "  - {name: d, url: 'https://x.org/d', fetch: {via: browser}}\n"
                              "  - {name: e, url: 'https://www.war.gov/z', profile: defense.gov, source: archive}\n")
    assert [(t.via, t.source) for t in settings.targets] == [
        ("auto", "live"), ("http", "live"), ("http", "live"), ("browser", "live"), ("http", "archive")]
    assert settings.targets[4].uses_archive and not settings.targets[0].uses_archive
    with pytest.raises(ConfigError, match="'source: archive' reads the web archive only"):
        parse_settings("targets: [{name: a, url: 'https://x.org/', source: archive, archive: {fallback: true}}]")
    with pytest.raises(ConfigError, match="source"):
        parse_settings("targets: [{name: a, url: 'https://x.org/', source: wayback}]")
