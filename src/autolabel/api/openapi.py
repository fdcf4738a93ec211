"""The OpenAPI 3.1 document, generated from the resolver's routes and models.

``python -m autolabel.api.openapi`` rewrites docs/openapi.json; a test fails when it is stale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from autolabel import bootstrap
from autolabel.api.app import create_app, openapi_json

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def openapi_document() -> str:
    """The document as committed: indented, newline-terminated."""
    with tempfile.TemporaryDirectory() as home:
        # Routes are declared against a world; an empty throwaway workspace is enough to list them.
        app = create_app(bootstrap.embedded(Path(home)))
        return json.dumps(json.loads(openapi_json(app)), indent=2) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCUMENT
    target.write_text(openapi_document())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
