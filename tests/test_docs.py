"""Every command has help text and a place in the README; CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from compliance.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix: str = "") -> list:
    found = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found.extend(_commands(command, full + " "))
        else:
            found.append((full, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands():
    names = {name for name, _ in COMMANDS}
    assert {"init", "log", "status", "overdue", "demo", "org import", "catalog check"} <= names


def test_every_command_has_help_text():
    for name, command in COMMANDS:
        assert command.help and command.help.strip(), name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts}"


def test_every_command_is_in_the_readme():
    for name, _ in COMMANDS:
        assert f"compliance {name}" in README, name


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    demo, tests = blocks[0], blocks[1]
    assert "compliance demo" in demo and "pytest" in tests
    assert README.index(demo) < README.index("##")
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readmes_examples_name_organizations_and_members_of_the_demo():
    import csv

    from obligations.paths import data_dir

    demo = data_dir() / "demo"
    paths = {f"{r['上级']}/{r['名称']}" if r["上级"] else r["名称"] for r in csv.DictReader((demo / "orgs.csv").open(encoding="utf-8"))}
    members = {(r["党组织"], r["姓名"]) for r in csv.DictReader((demo / "members.csv").open(encoding="utf-8"))}
    synopsis = next(b for b in re.findall(r"```sh\n(.*?)\n```", README, re.S) if "compliance status" in b)
    refs = re.findall(r"--(?:org|under) ([^\s\]]+)", synopsis)
    assert len(refs) > 10
    for ref in refs:
        assert sum(p == ref or p.endswith("/" + ref) for p in paths) == 1, ref
    for org, name in re.findall(r"--org (\S+) --member (\S+)", synopsis) + [
            (o, n) for n, o in re.findall(r"member exempt (\S+) --org (\S+)", synopsis)]:
        full = next(p for p in paths if p.endswith("/" + org))
        assert (full, name) in members, (org, name)
