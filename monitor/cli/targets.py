"""CLI commands that change what is watched: add, edit, pause, resume, remove (config.yaml edited in place,
comments kept, a running daemon told to reload: monitor.watchlist does both)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.base import CliError
from monitor.errors import MonitorError
from monitor.models import PROFILE_NAMES, Settings

if TYPE_CHECKING:
    from monitor.watchlist import Edited


def _value(text: str) -> Any:
    """A KEY=VALUE value read as YAML (`6h`, `true`, `[a, b]`, `null` to remove the key). Raises CliError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe").load(text) if text.strip() else None
    except YAMLError as exc:
        raise CliError(f"{text!r} is not a YAML value: {str(exc).splitlines()[0]}") from None


def _preview(settings: Settings, name: str) -> list[str]:
    """Fetch the new target once and say what its profile extracts: the first lines and the block count."""
    from monitor.extract import extract
    from monitor.fetch import Fetcher, read_html

    target = settings.target(name)
    assert target is not None
    try:
        with Fetcher(settings.fetch) as fetcher:
            fetched = fetcher.fetch(target)
        content = extract(read_html(fetched.body, fetched.content_type).text, target.profile, target.select,
                          target.exclude)
    except MonitorError as exc:
        return [f"first fetch failed: {exc} (the target is added; check the URL and profile)"]
    lines = [line for line in content.text.splitlines() if line.strip()]
    places = {place.split(" ")[0] for place, _ in content.blocks}
    head = [f"profile {target.profile}: {len(lines)} lines, {len(content.blocks)} blocks"
            + (f" ({', '.join(sorted(places))})" if places else "")
            + (f", title {content.title!r}" if content.title else "")]
    return head + [f"  {line[:100]}" for line in lines[:3]]


def add_target_commands(group: click.Group) -> None:
    """Add add/edit/pause/resume/remove to the CLI group."""
    @group.command("add")
    @click.argument("url")
    @click.option("--name", help="a-z, 0-9 and '-' (default: made from the URL's last path part)")
    @click.option("--profile", type=click.Choice(sorted(PROFILE_NAMES)), default="generic", show_default=True)
    @click.option("--every", help="How often: 30m, 6h, 1d (default 6h).")
    @click.option("--via", type=click.Choice(["http", "browser", "auto"]), help="How to fetch it.")
    @click.option("--no-fetch", is_flag=True, help="Do not fetch the page once to show what it extracts.")
    @click.pass_context
    def add(ctx: click.Context, url: str, name: str | None, profile: str, every: str | None, via: str | None,
            no_fetch: bool) -> None:
        """Watch URL: add it to the config file (comments kept), fetch it once and show what it extracts."""
        from monitor.watchlist import add_target, name_of

        entry: dict[str, Any] = {"name": name or name_of(url), "url": url, "profile": profile}
        if every:
            entry["every"] = every
        if via:
            entry["fetch"] = {"via": via}
        done = _apply(ctx, lambda path: add_target(path, entry))
        click.echo(f"added {entry['name']} to {ctx.obj['config']}; {done.daemon}")
        for line in [] if no_fetch else _preview(done.settings, entry["name"]):
            click.echo(line)

    @group.command("edit")
    @click.argument("name")
    @click.argument("changes", nargs=-1, required=True)
    @click.pass_context
    def edit(ctx: click.Context, name: str, changes: tuple[str, ...]) -> None:
        """Change a target's settings: KEY=VALUE ... (dotted keys: fetch.via=browser; KEY= removes it)."""
        from monitor.watchlist import edit_target

        values = {}
        for change in changes:
            key, sep, value = change.partition("=")
            if not sep or not key.strip():
                raise CliError(f"{change!r}: write KEY=VALUE (e.g. every=1h, fetch.via=browser)")
            values[key.strip()] = _value(value)
        done = _apply(ctx, lambda path: edit_target(path, name, values))
        click.echo(f"{name}: {', '.join(values)} changed; {done.daemon}")

    for command, paused in (("pause", True), ("resume", False)):
        @group.command(command, help=f"{command.capitalize()} checking a target (kept in the config file).")
        @click.argument("name")
        @click.pass_context
        def toggle(ctx: click.Context, name: str, paused: bool = paused) -> None:
            from monitor.watchlist import set_paused

            done = _apply(ctx, lambda path: set_paused(path, name, paused))
            click.echo(f"{name}: {'paused' if paused else 'resumed'}; {done.daemon}")

    @group.command("remove")
    @click.argument("name")
    @click.option("--delete-data", is_flag=True, help="Also delete its snapshots and reports.")
    @click.pass_context
    def remove(ctx: click.Context, name: str, delete_data: bool) -> None:
        """Stop watching a target: remove it from the config file (its snapshots and reports stay)."""
        from monitor.watchlist import remove_target

        done = _apply(ctx, lambda path: remove_target(path, name))
        settings = done.settings
        kept = "its snapshots and reports are kept"
        if delete_data:
            from monitor.store import SnapshotStore

            for folder in (SnapshotStore(settings.snapshots_dir).target_dir(name), settings.reports_dir / name):
                shutil.rmtree(folder, ignore_errors=True)
            kept = "its snapshots and reports are deleted"
        click.echo(f"removed {name}; {kept}; {done.daemon}")


def _apply(ctx: click.Context, change: Callable[[Path], Edited]) -> Edited:
    """Run a watchlist change on the config file; its errors become one CliError."""
    path: Path = ctx.obj["config"]
    try:
        return change(path)
    except MonitorError as exc:
        raise CliError(str(exc)) from exc
