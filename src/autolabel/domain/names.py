"""The rules for the names people give things, written once.

Each rule is an ``Annotated`` string type: the HTTP API's request models use it (so the OpenAPI
document carries its pattern, which the web app's forms check), and the use cases check every
name through :func:`checked`, so the CLI refuses exactly what the API refuses, with the same
message. Stored records keep plain strings: a workspace written before a rule tightened must
still open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from autolabel.domain.errors import ValidationError


@dataclass(frozen=True)
class NameRule:
    kind: str
    pattern: str
    rule: str  # what a valid name looks like, in words

    @property
    def message(self) -> str:
        noun = "concept" if self.kind == "concept_name" else "name"
        return f"invalid {noun}: {self.rule}"

    def problem(self, value: str) -> str | None:
        return None if re.fullmatch(self.pattern, value) else self.message

    def check(self, value: str) -> str:
        """The value, or the domain's ValidationError with the rule's message."""
        problem = self.problem(value)
        if problem is not None:
            raise ValidationError(problem, {"rule": self.kind})
        return value

    def validate(self, value: str) -> str:
        """The pydantic validator: the same message, as an error pydantic reports by field."""
        problem = self.problem(value)
        if problem is not None:
            # A custom error type: pydantic adds no "Value error, " prefix to the message.
            raise PydanticCustomError("invalid_name", problem)
        return value

    def json_schema(self) -> dict[str, Any]:
        # "x-name-rule" names the rule in the OpenAPI document, so the web app's forms can take
        # each pattern from there (web/src/generated/names.ts) instead of copying it.
        return {
            "type": "string",
            "pattern": self.pattern,
            "description": self.rule[0].upper() + self.rule[1:],
            "x-name-rule": self.kind,
        }


# Letters, digits and a few marks people use in names; never a control character, a slash or a
# quote, so a name is safe in a terminal, a URL path segment and a file name.
_TITLE = r"^[A-Za-z0-9][A-Za-z0-9 _.@()+-]{0,127}$"
TASK = NameRule(
    "task_name",
    _TITLE,
    "a task name is 1 to 128 letters, digits, spaces and _ . @ ( ) + -, starting with a letter or digit",
)
DATASET = NameRule(
    "dataset_name",
    _TITLE,
    "a dataset name is 1 to 128 letters, digits, spaces and _ . @ ( ) + -, starting with a letter or digit",
)
# People: reviewers and API users share one alphabet (a reviewer signs in under their name).
PERSON = NameRule(
    "person_name", r"^[A-Za-z0-9_.@-]{1,64}$", "a user or reviewer name is 1 to 64 letters, digits and _ . @ -"
)
# Concepts are the model's own class names ("dining table", "jack-o'-lantern"): any text but
# control characters.
CONCEPT = NameRule(
    "concept_name", r"^[^\x00-\x1f\x7f]{1,128}$", "a concept is 1 to 128 characters, none of them control characters"
)

TaskName = Annotated[str, AfterValidator(TASK.validate), WithJsonSchema(TASK.json_schema())]
DatasetName = Annotated[str, AfterValidator(DATASET.validate), WithJsonSchema(DATASET.json_schema())]
ReviewerName = Annotated[str, AfterValidator(PERSON.validate), WithJsonSchema(PERSON.json_schema())]
UserName = ReviewerName
ConceptName = Annotated[str, AfterValidator(CONCEPT.validate), WithJsonSchema(CONCEPT.json_schema())]

RULES = (TASK, DATASET, PERSON, CONCEPT)
