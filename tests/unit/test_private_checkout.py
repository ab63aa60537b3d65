"""The permission tests pass in a checkout that only root may enter (issue #13).

As root they once re-ran code as another user (nobody) with ``sys.path`` in the checkout, which
that user can't enter when the checkout sits in root's home or in a ``mktemp -d`` folder: the
tests failed with "No module named 'photoclip'". Here the checkout's files are copied into such
a folder and those tests are run from there; they must pass, not skip. They run in a venv made
in that folder too, with this one's packages but not its editable install of photoclip (which
points out of the folder, where anyone may read it): as with ``make test`` in a private clone,
the interpreter and photoclip are reachable only through the private folder.

The copy is of the working tree's files as git lists them (tracked and new, not ignored), not a
clone of HEAD, so it tests the code as it is now, edits not yet committed included; in CI the
tree is clean and the two are the same."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import unprivileged

REPO = Path(__file__).resolve().parents[2]
PERMISSION_TESTS = [
    "tests/unit/test_scanner.py::test_an_unreadable_folder_is_reported_and_the_rest_is_walked",
    "tests/unit/test_scanner.py::test_describe_os_error_words_a_real_permission_error",
]

pytestmark = pytest.mark.skipif(
    not unprivileged.is_root(),
    reason="not root: the permission tests then run as this user, who can always enter its "
    "own checkout; only as root do they run differently, and could be locked out (issue #13)",
)


def _checkout_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (or no git): can't tell its files from build output")
    # safe.directory: root may run the tests in a checkout another user owns.
    argv = [git, "-c", f"safe.directory={REPO}", "-C", str(REPO), "ls-files", "-z"]
    listed = subprocess.run(
        [*argv, "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [name for name in listed.stdout.split("\0") if name and (REPO / name).is_file()]


def _venv_with_our_packages(path: Path) -> Path:
    """A venv at ``path`` that sees the folders this interpreter imports from, except the
    checkout (a .pth file lists them; the .pth files in them, among them the editable
    install's, aren't run). Returns its python."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(path)
    ours = [p for p in dict.fromkeys(sys.path) if p and Path(p).is_dir()]
    ours = [p for p in ours if Path(p).resolve() != REPO]
    into = {"base": str(path), "platbase": str(path)}
    site_packages = Path(sysconfig.get_path("purelib", "posix_prefix", vars=into))
    (site_packages / "outer-venv.pth").write_text("".join(f"{folder}\n" for folder in ours))
    return path / "bin" / "python"


def test_permission_tests_pass_in_a_checkout_only_root_may_enter(tmp_path):
    private = Path(tempfile.mkdtemp(prefix="photoclip-private-"))
    try:
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        checkout = private / "photoclip"
        for name in _checkout_files():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name, follow_symlinks=False)
        python = _venv_with_our_packages(checkout / ".venv")
        report = tmp_path / "report.xml"
        argv = [python, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the copy
        done = subprocess.run(
            [*argv, *PERMISSION_TESTS],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(private)
    assert done.returncode == 0, done.stdout + done.stderr
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = {
        case.get("name"): [c.tag for c in case if c.tag in {"skipped", "failure", "error"}]
        for case in cases
    }
    assert sorted(outcomes) == sorted(test.split("::")[1] for test in PERMISSION_TESTS)
    assert outcomes == {name: [] for name in outcomes}, "not all passed"
