"""RecordStore on one DynamoDB table (single-table design; keys in docs/ARCHITECTURE.md).

Every fact an entry point writes has a deterministic key, and writes that must not repeat are
conditional, so a retried Lambda writes nothing twice. A batch's facts and the task's counters
move in one TransactWriteItems, so ``counts`` is one GetItem and never a scan. Bulk writes
without counters (inputs, deletions) use BatchWriteItem in chunks of 25, retrying
UnprocessedItems with backoff; throttling errors are retried by botocore (``clients``).

The modules, by concern (each imports only those above it):

* ``codecs`` — attribute marshalling, a task input's compact predictions, rebuilding records;
* ``keys`` — the table's schema (``create_table``, ``INDEX_ATTRIBUTES``), keys and item builders;
* ``table`` — ``Table``, the retrying client (batches, transactions, backoff with full jitter);
* ``counters`` — the task's counters item: deltas, the transactional update, recounting;
* ``tasks`` — the task item, its name claim and counters;
* ``registration`` — a task's inputs registered for a run or an upload;
* ``commit`` — the two-step batch commit and its repair;
* ``review`` — review items, decisions, re-routing;
* ``store`` — ``DynamoRecordStore``, the port, composing them (datasets, inputs and reads here).
"""

from autolabel.aws.records.codecs import decode_predictions, encode_predictions
from autolabel.aws.records.keys import INDEX_ATTRIBUTES, create_table
from autolabel.aws.records.store import DynamoRecordStore

__all__ = ["INDEX_ATTRIBUTES", "DynamoRecordStore", "create_table", "decode_predictions", "encode_predictions"]
