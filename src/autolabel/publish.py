"""``python -m autolabel.publish``: after `cdk deploy`, upload the shipped models to the
deployment's bucket and register them (with the stack's ``AUTOLABEL_*`` variables set, e.g. from
its outputs). Prints the published model ids as JSON."""

from __future__ import annotations

import json

from autolabel import bootstrap
from autolabel.app.models import publish_shipped, shipped_models_dir


def main() -> None:  # pragma: no cover - a deploy step, run by hand against a real account
    print(json.dumps(publish_shipped(bootstrap.aws().backends, shipped_models_dir())))


if __name__ == "__main__":  # pragma: no cover
    main()
