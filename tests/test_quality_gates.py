"""The quality gates: pre-commit's hooks stay offline, and ops.audit tells a vulnerability from no network."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from ops import audit

ROOT = Path(__file__).resolve().parent.parent


def hooks() -> list[dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo.get("hooks", [])]


def test_every_pre_commit_hook_is_local_and_runs_a_program_of_this_checkout() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing to clone: offline by construction
    assert hooks()
    for hook in hooks():
        assert hook["language"] == "system", hook["id"]  # no environment for pre-commit to build
        program = ROOT / shlex.split(hook["entry"])[0]
        assert program.is_file() and os.access(program, os.X_OK), f"{hook['id']}: {program} is not an executable"


def package(name: str, *vulns: str, skip: str | None = None) -> dict:
    if skip:
        return {"name": name, "skip_reason": skip}
    return {
        "name": name,
        "version": "1.0",
        "vulns": [{"id": vuln, "fix_versions": ["1.1"], "aliases": [], "description": ""} for vuln in vulns],
    }


def test_a_known_vulnerability_fails_and_names_the_fix() -> None:
    report = {"dependencies": [package("flask"), package("jinja2", "GHSA-xxxx")], "fixes": []}
    status, lines = audit.verdict(report, "", returncode=1)
    assert status == 1
    assert "  jinja2 1.0: GHSA-xxxx (fixed in 1.1)" in lines


def test_packages_the_database_did_not_answer_for_are_unaudited_not_clean() -> None:
    reason = "Dependency not found on PyPI and could not be audited: flask (1.0)"
    report = {"dependencies": [package("flask", skip=reason), package("jinja2")], "fixes": []}
    status, lines = audit.verdict(report, "No known vulnerabilities found", returncode=0)
    assert status == audit.UNREACHABLE
    assert lines[0].startswith("1 of 2 packages could not be audited")


def test_no_network_is_told_from_another_failure() -> None:
    traceback = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries"
    assert audit.verdict(None, traceback, returncode=1)[0] == audit.UNREACHABLE
    assert audit.verdict(None, "error: requirements.lock: no such file", returncode=1)[0] == 1
    assert audit.verdict({"dependencies": [package("flask")]}, "", returncode=0)[0] == 0
    assert audit.verdict({"dependencies": [package("flask")]}, "boom", returncode=1)[0] == 1


@pytest.mark.parametrize(
    ("stderr", "args", "status"),
    [
        ("requests.exceptions.ConnectionError: offline", [], audit.UNREACHABLE),
        ("requests.exceptions.ConnectionError: offline", ["--offline-ok"], 0),
        ("Traceback ...\nValueError: not a requirements file", ["--offline-ok"], 1),
    ],
)
def test_offline_ok_forgives_only_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, stderr: str, args: list[str], status: int
) -> None:
    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        assert command[1:3] == ["-m", "pip_audit"] and "--offline-ok" not in command
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=stderr)

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    assert audit.main(args) == status
