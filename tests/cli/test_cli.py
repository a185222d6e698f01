"""CLI commands other than check: normalize, history, baseline, demo, and `python -m monitor`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from monitor.cli.main import cli
from monitor.demo import page_html
from tests.conftest import NATO, ROOT, SEEDS, WriteConfig
from tests.extract import variants


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_normalize_prints_the_seed_text(tmp_path: Path) -> None:
    page = tmp_path / "saved-page.html"
    page.write_bytes(page_html(NATO))
    result = invoke("normalize", str(page), "--profile", "defense.gov")
    assert result.exit_code == 0
    assert result.stdout == SEEDS[NATO].read_text(encoding="utf-8") + "\n"


def test_normalize_explain_shows_each_block_with_its_place_and_element(tmp_path: Path) -> None:
    page = tmp_path / "real.html"
    html, want = variants.page(variants.Variant())  # the documented 2024-25 markup
    page.write_text(html, encoding="utf-8")
    out = invoke("normalize", str(page), "--profile", "defense.gov", "--explain").stdout
    head, *blocks = out.rstrip("\n").split("\n\n[")
    assert head == ("profile defense.gov: 19 blocks; title: NATO Temporarily Suspends Training Mission in Iraq; "
                    "date: Jan. 7, 2020; 5 links")
    assert [b.split("\n", 1)[1] for b in blocks] == want.split("\n\n"), "the blocks, in order, are the text"
    assert blocks[0].startswith("banner] ") and "div.header_banner_flag" in blocks[0].split("\n")[0]
    assert blocks[5].split("\n")[0].endswith("header.content-wrap > h1.maintitle")
    assert blocks[9].startswith("photo 1] ") and "figure.media-inline-img" in blocks[9].split("\n")[0]


def test_normalize_reads_stdin_and_reports_bad_input_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["normalize", "-", "--profile", "defense.gov"], input=b"<p>no article</p>")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: <stdin>: profile defense.gov: page has none of h1.maintitle, div.body " \
                                    "(not an article page?)"


def test_history_lists_newest_first(write_config: WriteConfig, baseline_dir: Path) -> None:
    config = str(write_config())
    text = invoke("--config", config, "history", NATO)
    assert text.exit_code == 0 and "baseline" in text.stdout and len(text.stdout.splitlines()) == 1
    rows = json.loads(invoke("--config", config, "history", NATO, "--json").stdout)
    assert rows[0]["source"] == "baseline" and rows[0]["origin"] == "000_4c4e1697ccf35c4f.txt"
    assert rows[0]["capture"] is None, "a baseline import has no capture"
    assert Path(rows[0]["text"]).read_text(encoding="utf-8") == SEEDS[NATO].read_text(encoding="utf-8")


def test_baseline_imports_a_first_snapshot_once(write_config: WriteConfig, tmp_path: Path) -> None:
    config = str(write_config())
    result = invoke("--config", config, "baseline", NATO, str(SEEDS[NATO]))
    assert result.exit_code == 0 and result.stdout.startswith(f"{NATO}: baseline stored as ")
    again = invoke("--config", config, "baseline", NATO, str(SEEDS[NATO]))
    assert again.exit_code == 2 and "already has snapshots" in again.stderr
    unknown = invoke("--config", config, "baseline", "not-configured", str(SEEDS[NATO]))
    assert unknown.exit_code == 2 and "unknown target 'not-configured'" in unknown.stderr
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "not UTF-8 text" in invoke("--config", config, "baseline", "mattis-stoltenberg-remarks",
                                      str(binary)).stderr


def test_demo_runs_the_whole_loop_offline(tmp_path: Path) -> None:
    result = invoke("demo", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    realigned = [line for line in lines if "baseline re-aligned" in line]
    assert len(realigned) == 2 and all("only site chrome differs (the government banner)" in x for x in realigned)
    assert any(line.startswith(f"  {NATO}: changed (+5/-1 words in body paragraph 1 and photo 2)") for line in lines)
    report = Path(next(line for line in lines if line.startswith("Change report:")).split(": ", 1)[1])
    assert report.is_file() and report.is_relative_to(tmp_path)
    assert "on Tuesday" in report.read_text(encoding="utf-8")
    assert (tmp_path / "reports" / "index.html").is_file()
    reviewed = invoke("--config", str(tmp_path / "config.yaml"), "review", report.stem, "--significance", "0.2")
    assert reviewed.exit_code == 0, "the demo's config lets the review commands work on its reports"
    listed = invoke("--config", str(tmp_path / "config.yaml"), "reports").stdout.splitlines()
    assert len(listed) == 3 and sum(line.startswith("[x] ") for line in listed) == 1, "two chrome reports, unreviewed"


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    assert result.returncode == 0
    for command in ("check", "normalize", "history", "baseline", "demo"):
        assert command in result.stdout


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in cli.commands if f"monitor {name}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_a_check_in_its_own_process_ends_with_its_output_whole_and_its_exit_code(write_config: WriteConfig,
                                                                                 baseline_dir: Path) -> None:
    """`monitor check` ends without the interpreter's teardown (cli.main.main): its JSON must still be whole
    and the exit code the one the results decide."""
    config = write_config()
    command = [sys.executable, "-m", "monitor", "--config", str(config), "check", "--json"]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    results = json.loads(first.stdout)
    assert len(results) == 2
    assert first.returncode == (1 if any(r["status"] == "changed" for r in results) else 0), first.stderr
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    assert again.returncode == 0, again.stderr
    assert [r["status"] for r in json.loads(again.stdout)] == ["unchanged", "unchanged"]
    write_config(targets=[{"name": "gone", "url": "http://127.0.0.1:1/x", "timeout": 2}])  # the same file
    failed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    assert failed.returncode == 2 and json.loads(failed.stdout)[0]["status"] == "error"
