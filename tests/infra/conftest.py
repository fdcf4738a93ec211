"""One synthesis of the CDK app per test session (cdk-nag makes it ~20 s), shared by the
template assertions and the state-machine execution test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@dataclass
class Synthesized:
    stack: Any
    template: dict[str, Any]
    outdir: Path
    config: Any

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.resolve(construct.node.default_child.logical_id))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    from aws_cdk import App

    from infra.app import build
    from infra.config import Config

    root = tmp_path_factory.mktemp("cdk")
    # Layer contents do not change the template (only the asset hash), so the template tests
    # use empty layer folders; tests/infra/test_layers.py builds the real ones.
    for layer in ("core", "imaging", "inference"):
        (root / "layers" / layer / "python").mkdir(parents=True)
    # The web app's build output is the other half of the site; a stand-in with the same shape.
    web = root / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text('<!doctype html><script type="module" src="/assets/app-1a2b3c.js"></script>')
    (web / "assets" / "app-1a2b3c.js").write_text("document.title = 'autolabel'")
    config = Config(layers_dir=str(root / "layers"), web_dir=str(web), batch_size=8, max_concurrency=7)
    app = App(outdir=str(root / "out"))
    app, stack = build(app, config)
    app.synth()  # raises if cdk-nag reports any finding not acknowledged
    template = json.loads((root / "out" / "Autolabel.template.json").read_text())
    yield Synthesized(stack, template, root / "out", config)
