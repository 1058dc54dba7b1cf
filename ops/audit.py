"""pip-audit of requirements.lock: every pinned package against a vulnerability database.

`make audit` runs it (extra arguments go to pip-audit, e.g. `make audit ARGS='-s osv'`). Exit status:

- 0: every package was audited and none has a known vulnerability;
- 1: a known vulnerability (each is listed with the versions that fix it), or pip-audit failed otherwise;
- 2: the database could not be reached (no network, or an index mirror that does not serve PyPI's
  per-version JSON), so packages went unaudited. pip-audit itself counts such a package as skipped
  and still says "No known vulnerabilities found"; here it is never a pass.

`--offline-ok` turns 2 into a warning and exit 0, which is how .ci/run runs it on machines without
the network; a vulnerability found still fails. The GitHub workflow runs it without.
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404  # runs pip-audit with this module's own arguments, no shell
import sys
import tempfile
from pathlib import Path
from typing import Any

LOCK = Path("requirements.lock")
UNREACHABLE = 2
NETWORK_ERRORS = (
    "requests.exceptions.",
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
)
"""What pip-audit's traceback says when it reached no database at all (no report is written then)."""


def verdict(report: dict[str, Any] | None, output: str, returncode: int) -> tuple[int, list[str]]:
    """The exit status and the lines to print, from pip-audit's JSON report (None if it wrote none), its
    output and its exit status."""
    if report is None:
        last = output.strip().splitlines()[-1:] or ["(no output)"]
        if any(marker in output for marker in NETWORK_ERRORS):
            return UNREACHABLE, [f"pip-audit could not reach its vulnerability database: {last[0]}"]
        return 1, ["pip-audit failed:", *output.strip().splitlines()[-20:]]
    packages = report.get("dependencies", [])
    found = [
        f"  {package['name']} {package['version']}: {vuln['id']}"
        f" (fixed in {', '.join(vuln.get('fix_versions') or []) or 'no release yet'})"
        for package in packages
        for vuln in package.get("vulns", [])
    ]
    skipped = [f"  {package['name']}: {package['skip_reason']}" for package in packages if "skip_reason" in package]
    not_audited = f"{len(skipped)} of {len(packages)} packages could not be audited"
    if found:
        lines = [f"{len(found)} known vulnerabilities in {LOCK}:", *found]
        return 1, lines + ([f"and {not_audited}"] if skipped else [])
    if skipped:
        return UNREACHABLE, [f"{not_audited} (the vulnerability database did not answer for them), e.g.", *skipped[:5]]
    if returncode != 0:
        return 1, [f"pip-audit exited with {returncode}:", *output.strip().splitlines()[-20:]]
    return 0, [f"{len(packages)} packages of {LOCK} audited: no known vulnerability"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline-ok", action="store_true", help="an unreachable database warns instead of failing")
    args, pip_audit_args = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report_file = Path(scratch) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip"]
        command += ["--progress-spinner", "off", "-f", "json", "-o", str(report_file), *pip_audit_args]
        done = subprocess.run(command, capture_output=True, text=True)  # nosec B603  # pip-audit, no shell
        text = report_file.read_text() if report_file.is_file() else ""
    status, lines = verdict(json.loads(text) if text.strip() else None, done.stdout + done.stderr, done.returncode)
    if status == UNREACHABLE and args.offline_ok:
        lines = ["warning: dependencies not audited (offline?); the GitHub workflow audits them", *lines]
        status = 0
    print("\n".join(lines), file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
