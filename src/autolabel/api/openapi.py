"""The OpenAPI 3.1 document, generated from the resolver's routes and models, and the name rules
the web app's forms check, taken from it.

``python -m autolabel.api.openapi`` rewrites docs/openapi.json and web/src/generated/names.ts
(``make openapi`` also regenerates the web app's types from the document); a test fails when
either is stale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from autolabel import bootstrap
from autolabel.api.app import create_app, openapi_json

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "openapi.json"
NAMES_MODULE = ROOT / "web" / "src" / "generated" / "names.ts"


def openapi_document() -> str:
    """The document as committed: indented, newline-terminated."""
    with tempfile.TemporaryDirectory() as home:
        # Routes are declared against a world; an empty throwaway workspace is enough to list them.
        app = create_app(bootstrap.embedded(Path(home)))
        return json.dumps(json.loads(openapi_json(app)), indent=2) + "\n"


def name_rules(document: str) -> dict[str, tuple[str, str]]:
    """Each name rule the document uses (``x-name-rule``): its pattern and its description."""
    found: dict[str, tuple[str, str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            rule = node.get("x-name-rule")
            if isinstance(rule, str):
                found[rule] = (node["pattern"], node["description"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(document))
    return dict(sorted(found.items()))


def names_module(document: str) -> str:
    """web/src/generated/names.ts: the rules as RegExps with the message the API gives."""
    lines = [
        "// Generated from docs/openapi.json by `make openapi` (autolabel.api.openapi): do not edit.",
        "// The rules the API checks names by (domain/names.py), so a form can say what is wrong first.",
        "",
        "export interface NameRule { pattern: RegExp; description: string }",
        "",
    ]
    for rule, (pattern, description) in name_rules(document).items():
        constant = rule.upper()
        lines.append(f"export const {constant}: NameRule = {{")
        lines.append(f"  pattern: new RegExp({json.dumps(pattern)}),")
        lines.append(f"  description: {json.dumps(description)},")
        lines.append("};")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    document = openapi_document()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCUMENT
    target.write_text(document)
    print(f"wrote {target}")
    if len(sys.argv) <= 1:
        NAMES_MODULE.write_text(names_module(document))
        print(f"wrote {NAMES_MODULE}")


if __name__ == "__main__":
    main()
