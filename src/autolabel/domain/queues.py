"""Which queue holds a reviewer's items of a task: one rule, both worlds.

SQS allows queue names of 1–80 characters from ``[A-Za-z0-9_-]``, and the adapters add ``-dlq``
for the dead-letter queue, so a name has 76 characters at most. Reviewer names may hold ``.``
and ``@`` (and records written under older rules anything), so a name is made readable by
replacing the rest with ``-`` — which alone would give ``a.b`` and ``a-b`` one queue. The name
therefore ends in a hash of the exact task id and reviewer name: two reviewers share a queue
only if 48 bits of SHA-256 agree *and* their names read alike (for a task with 1,000 reviewers
whose names all read alike that is about 2 in a billion).

The world's prefix (``queue_prefix``, e.g. ``al-`` on AWS, where IAM grants ``<prefix>*``) starts
every name, so a stack's functions can reach only their own stack's queues.
"""

from __future__ import annotations

import hashlib
import re

MAX_QUEUE_NAME = 80  # SQS
DEAD_LETTER_SUFFIX = "-dlq"
MAX_NAME = MAX_QUEUE_NAME - len(DEAD_LETTER_SUFFIX)
MAX_PREFIX = 20
PREFIX_PATTERN = rf"[A-Za-z0-9_-]{{0,{MAX_PREFIX}}}"
HASH_CHARS = 12  # 48 bits of hex
NAMING_HASHED = 2  # Task.queue_naming of tasks whose queues are named by review_queue_name
NAMING_FIRST = 1  # tasks created before: legacy_review_queue_name
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def check_prefix(prefix: str) -> str:
    """A prefix every queue name can start with (``""`` is fine: one workspace, one namespace)."""
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        raise ValueError(f"a queue prefix is at most {MAX_PREFIX} letters, digits, '_' and '-'; got {prefix!r}")
    return prefix


def review_queue_name(prefix: str, task_id: str, reviewer: str) -> str:
    """``<prefix><task id>-<reviewer, readable>-<hash>``, at most 76 characters, distinct for
    distinct (task, reviewer) pairs."""
    check_prefix(prefix)
    digest = hashlib.sha256(f"{task_id}\x00{reviewer}".encode()).hexdigest()[:HASH_CHARS]
    task = _UNSAFE.sub("-", task_id)
    room = MAX_NAME - len(prefix) - len(task) - len(digest) - 2
    if room < 0:  # task ids are 25 characters (ids.new_id), so only a malformed one gets here
        raise ValueError(f"task id {task_id!r} is too long for a queue name")
    readable = _UNSAFE.sub("-", reviewer)[:room]
    return f"{prefix}{task}-{readable}-{digest}" if readable else f"{prefix}{task}--{digest}"


def legacy_review_queue_name(prefix: str, task_id: str, reviewer: str) -> str:
    """The first rule, for tasks created before the hashed one (``Task.queue_naming`` 1): their
    queues exist under these names. ``prefix`` is what the world's adapter put in front then
    (the AWS queue prefix; nothing on the embedded world)."""
    safe = _UNSAFE.sub("-", reviewer)[:40]
    return f"{prefix}al-{task_id}-{safe}"[:MAX_QUEUE_NAME]


def queue_of(prefix: str, task_id: str, queue_naming: int, reviewer: str) -> str:
    """The queue of ``reviewer``'s items in a task, by the rule the task was created under."""
    if queue_naming == NAMING_FIRST:
        return legacy_review_queue_name(prefix, task_id, reviewer)
    return review_queue_name(prefix, task_id, reviewer)
