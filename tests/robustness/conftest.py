"""The bad-input and fault corpus: what a hostile user or a failing machine does, and the exact
kind of outcome each must get — a one-line error and a non-zero exit (CLI), a 4xx JSON body
(API), a failed input with its reason (runs) — with nothing half-written.

Most files hold a table of cases (``CASES``): adding a case is adding a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autolabel.cli import app
from tests.conftest import ROOT


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def one_line_error(self, *fragments: str) -> str:
        """Assert the run failed with exactly one line, ``error: ...``, holding every fragment."""
        assert self.code != 0, self
        assert "Traceback" not in self.out + self.err, self
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), self
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
        return lines[0]


CliRun = Callable[..., Ran]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> CliRun:
    """``autolabel ARGS`` in this process (wide terminal, so an error stays on one line)."""
    monkeypatch.setenv("AUTOLABEL_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Ran:
        result = runner.invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback: the case failed
        return Ran(result.exit_code, result.stdout, result.stderr)

    return invoke


def run_process(home: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Ran:
    """``autolabel ARGS`` as a separate process running this tree's code."""
    environment = {
        **os.environ,
        "AUTOLABEL_HOME": str(home),
        "COLUMNS": "400",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "autolabel.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


# The API's in-process world (resolver + embedded workspace + users root/alice/bob/eve).
from tests.api.conftest import world as world  # noqa: E402
