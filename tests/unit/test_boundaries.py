"""The seams the layering promises, checked where import-linter (`make test`'s lint-imports,
contracts in pyproject.toml) cannot look: the Lambda handlers, which are not a package, and what
a process really loads when it imports an entry point."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "autolabel"
HEAVY = ("onnxruntime", "numpy", "PIL")


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_only_the_aws_package_imports_boto() -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in SRC.rglob("*.py")
        if not path.is_relative_to(SRC / "aws")
        for name in imported_modules(path)
        if name.split(".")[0] in ("boto3", "botocore")
    ]
    assert offenders == []
    assert (SRC / "aws" / "records" / "__init__.py").is_file()  # the walk saw the tree it guards


def test_handlers_call_use_cases_and_never_build_or_touch_an_adapter() -> None:
    handlers = sorted(ROOT.glob("functions/*/handler.py"))
    assert len(handlers) == 6
    for handler in handlers:
        ours = [n for n in imported_modules(handler) if n.startswith("autolabel")]
        assert ours, handler
        wrong = [n for n in ours if n.startswith(("autolabel.aws", "autolabel.embedded", "autolabel.ports"))]
        assert wrong == [], f"{handler.parent.name} imports {wrong}: go through autolabel.bootstrap and autolabel.app"


def loaded_by(code: str, env: dict[str, str]) -> list[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **env, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


AWS_ENV = {
    "AUTOLABEL_TABLE": "autolabel-records",
    "AUTOLABEL_BUCKET": "autolabel-data",
    "AUTOLABEL_IDEMPOTENCY_TABLE": "autolabel-idempotency",
    "AUTOLABEL_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def import_handler(function: str) -> str:
    """Code that imports functions/<function>/handler.py as Lambda does (a module named handler)."""
    return (
        "import importlib.util as u\n"
        f"spec = u.spec_from_file_location('handler', 'functions/{function}/handler.py')\n"
        "spec.loader.exec_module(u.module_from_spec(spec))"
    )


def test_the_api_loads_no_model_runtime(tmp_path: Path) -> None:
    # The API function carries no numpy/onnxruntime layer: importing it must not need them.
    assert loaded_by("import autolabel.api.lambda_app", {"AUTOLABEL_HOME": str(tmp_path)}) == []
    assert loaded_by("import autolabel.api.lambda_app", AWS_ENV) == []
    assert loaded_by(import_handler("api"), AWS_ENV) == []


@pytest.mark.parametrize("function", ["start_run", "finalize_run", "run_job"])
def test_a_run_s_bookkeeping_steps_load_no_model_runtime(function: str) -> None:
    # start_run and finalize_run carry the core layer alone (infra/pipeline.py).
    assert loaded_by(import_handler(function), AWS_ENV) == []


def test_the_cli_loads_the_model_runtime_only_to_run(tmp_path: Path) -> None:
    assert loaded_by("import autolabel.cli", {"AUTOLABEL_HOME": str(tmp_path)}) == []
    assert set(loaded_by("import autolabel.app.runs.local", {})) == set(HEAVY)


ENTRY_POINTS = [
    SRC / "cli.py",
    SRC / "demo.py",
    SRC / "publish.py",
    *sorted((SRC / "api").rglob("*.py")),
    *sorted(ROOT.glob("functions/*/handler.py")),
]
PORTS = ("records", "blobs", "queues", "users", "launcher", "jobs", "job_launcher")


def test_entry_points_never_touch_a_port() -> None:
    # They hand Backends to the use cases; calling backends.records.… would bypass authorisation.
    touched = [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
        for path in ENTRY_POINTS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in PORTS
    ]
    assert touched == []
