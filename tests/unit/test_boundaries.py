"""The core stays cloud-free: only autolabel.aws may import boto3/botocore."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "autolabel"


def test_only_the_aws_package_imports_boto() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "aws"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(SRC)}: {n}" for n in names if n.split(".")[0] in ("boto3", "botocore")]
    assert offenders == []
    assert (SRC / "aws" / "records" / "__init__.py").is_file()  # the walk saw the tree it guards
