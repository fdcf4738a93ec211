"""A name is checked by one rule everywhere: the HTTP API and the CLI refuse the same names with
the same message (the rule's), and the OpenAPI document carries the rule's pattern."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autolabel.api.openapi import DOCUMENT
from autolabel.cli import app as cli_app
from autolabel.domain import names
from autolabel.domain.names import NameRule
from tests.api.conftest import World
from tests.conftest import sample

TASK = {
    "name": "t",
    "dataset": "photos",
    "model": "ssd-mobilenet-v2-coco",
    "concepts": ["cat"],
    "thresholds": {"upper": 0.9, "lower": 0.4},
    "reviewers": [{"name": "alice"}],
}
# (rule, the API request that breaks it, the CLI arguments that break it the same way)
CASES: list[tuple[NameRule, str, dict[str, object], list[str]]] = [
    (names.TASK, "/tasks", {**TASK, "name": " leading space"}, ["--name", " leading space"]),
    (names.TASK, "/tasks", {**TASK, "name": "x" * 129}, ["--name", "x" * 129]),
    (names.TASK, "/tasks", {**TASK, "name": "red\x1b[31m"}, ["--name", "red\x1b[31m"]),
    (names.PERSON, "/tasks", {**TASK, "reviewers": [{"name": "al ice"}]}, ["--reviewers", "al ice"]),
    (names.CONCEPT, "/tasks", {**TASK, "concepts": ["cat\x07"]}, ["--concepts", "cat\x07"]),
    (names.DATASET, "/datasets", {"name": "a/b"}, []),
    (names.DATASET, "/datasets", {"name": ""}, []),
]


@pytest.mark.parametrize(("rule", "path", "body", "args"), CASES, ids=[f"{c[0].kind}-{i}" for i, c in enumerate(CASES)])
def test_the_api_and_the_cli_refuse_a_bad_name_with_the_rule_s_message(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: NameRule, path: str, body: dict[str, object],
    args: list[str],
) -> None:  # fmt: skip
    reply = world.client("root").post(path, body)
    assert reply.status == 422 and reply.body["message"].endswith(rule.message), reply

    monkeypatch.setenv("AUTOLABEL_HOME", str(tmp_path / "cli-home"))
    runner = CliRunner()
    if path == "/datasets":
        result = runner.invoke(cli_app, ["dataset", "add", str(body["name"]), str(sample("chelsea"))])
    else:
        assert runner.invoke(cli_app, ["dataset", "add", "photos", str(sample("chelsea"))]).exit_code == 0
        base = {"--name": "t", "--dataset": "photos", "--model": "ssd-mobilenet-v2-coco", "--concepts": "cat",
                "--reviewers": "alice"}  # fmt: skip
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        result = runner.invoke(cli_app, ["task", "create", *[part for pair in base.items() for part in pair]])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert rule.message in " ".join(result.stderr.split()), result.stderr  # rich may wrap a long line
    assert "Traceback" not in result.stdout + result.stderr


def test_the_document_carries_each_rule_s_pattern() -> None:
    document = json.loads(DOCUMENT.read_text())
    schemas = document["components"]["schemas"]
    assert schemas["TaskCreate"]["properties"]["name"]["pattern"] == names.TASK.pattern
    assert schemas["DatasetCreate"]["properties"]["name"]["pattern"] == names.DATASET.pattern
    assert schemas["ReviewerIn"]["properties"]["name"]["pattern"] == names.PERSON.pattern
    assert schemas["TaskCreate"]["properties"]["concepts"]["items"]["pattern"] == names.CONCEPT.pattern
