"""`cdk synth` / `cdk deploy` entry point (cdk.json: `python -m infra.app`)."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import Config
from infra.stack import AutolabelStack
from infra.web import WebAppNotBuilt


def build(app: App | None = None, config: Config | None = None) -> tuple[App, AutolabelStack]:
    app = app or App()
    config = config or Config.from_context(app.node.try_get_context)
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = AutolabelStack(app, "Autolabel", config, env=env)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    try:
        app, _stack = build()
    except WebAppNotBuilt as error:  # a step the deployer skipped, not a bug: no traceback
        raise SystemExit(f"error: {error}") from None
    app.synth()


if __name__ == "__main__":
    main()
