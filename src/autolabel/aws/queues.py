"""ReviewQueues on SQS: one standard queue per name, each with its own dead-letter queue."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from autolabel.aws.alarms import DeadLetterAlarms
from autolabel.aws.errors import code_of, is_not_found
from autolabel.domain.errors import NotFound
from autolabel.ports import QueueMessage, ReviewQueues

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

SEND_BATCH = 10  # SendMessageBatch and ReceiveMessage take at most 10 messages
RETENTION_S = 14 * 24 * 3600  # the maximum, so an unreviewed item outlives a long holiday
ID_ATTRIBUTE = "item"
# Redrive leases what it moves long enough to send and delete it, and long-polls for a second
# so that SQS's sampled short poll does not end the move while messages are left.
REDRIVE_LEASE_S = 60
REDRIVE_WAIT_S = 1


def _attributes(message: MessageTypeDef) -> dict[str, str]:
    found: dict[Any, str] = dict(message.get("Attributes", {}))
    return found


def dlq_name(queue: str) -> str:
    """The dead-letter queue's name; stays within SQS's 80 characters and unique per queue."""
    if len(queue) <= 76:
        return f"{queue}-dlq"
    return f"{queue[:63]}-{hashlib.sha256(queue.encode()).hexdigest()[:8]}-dlq"


class SQSReviewQueues(ReviewQueues):
    """Queue names arrive whole (``domain.queues``: they start with the stack's prefix, which
    its IAM policies grant). ``wait_s`` > 0 long-polls, which on real SQS also avoids the empty
    answers short polling may give while messages exist. With ``alarms``, every dead-letter
    queue gets a CloudWatch alarm that lives and dies with it."""

    def __init__(self, client: SQSClient, wait_s: int = 0, alarms: DeadLetterAlarms | None = None) -> None:
        self.client = client
        self.wait_s = wait_s
        self.alarms = alarms
        self._urls: dict[str, str] = {}

    def _url(self, name: str) -> str:
        url = self._urls.get(name)
        if url is None:
            try:
                url = self.client.get_queue_url(QueueName=name)["QueueUrl"]
            except ClientError as exc:
                if is_not_found(exc):
                    raise NotFound(f"no queue {name!r}") from None
                raise
            self._urls[name] = url
        return url

    def _call_on(self, name: str) -> str:
        return self._url(name)

    def create(self, queue: str, max_receives: int = 5) -> None:
        name = queue
        # Put first and on every call, even for an existing queue: PutMetricAlarm overwrites,
        # so a re-create heals a deleted alarm or gives one to a queue made before alarms were.
        self._put_alarm(name)
        if self.exists(queue):
            return
        encrypted: dict[Any, str] = {"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": str(RETENTION_S)}
        dlq_url = self.client.create_queue(QueueName=dlq_name(name), Attributes=encrypted)["QueueUrl"]
        dlq_arn = self.client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
        try:
            url = self.client.create_queue(QueueName=name, Attributes={**encrypted, "RedrivePolicy": redrive})[
                "QueueUrl"
            ]
        except ClientError as exc:
            # A concurrent create with other attributes won the race: the queue exists, fine.
            if code_of(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = self.client.get_queue_url(QueueName=name)["QueueUrl"]
        self._urls[name] = url

    def _put_alarm(self, name: str) -> None:
        if self.alarms is not None:
            self.alarms.put(
                dlq_name(name), f"Review items of queue {name} were dead-lettered after every retry: see its DLQ"
            )

    def delete_queue(self, queue: str) -> None:
        name = queue
        if self.alarms is not None:
            self.alarms.delete(dlq_name(name))
        for physical in (name, dlq_name(name)):
            try:
                url = self._url(physical)
                self.client.delete_queue(QueueUrl=url)
            except NotFound:
                pass
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
            self._urls.pop(physical, None)

    def exists(self, queue: str) -> bool:
        try:
            self._call_on(queue)
        except NotFound:
            return False
        return True

    def send(self, queue: str, messages: Sequence[tuple[str, str]]) -> None:
        url = self._call_on(queue)
        for start in range(0, len(messages), SEND_BATCH):
            chunk = messages[start : start + SEND_BATCH]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(n),  # batch entry ids are [A-Za-z0-9_-]; the item id travels as an attribute
                    "MessageBody": body,
                    "MessageAttributes": {ID_ATTRIBUTE: {"DataType": "String", "StringValue": message_id}},
                }
                for n, (message_id, body) in enumerate(chunk)
            ]
            self._send_batch(queue, url, entries)

    def _send_batch(self, queue: str, url: str, entries: list[SendMessageBatchRequestEntryTypeDef]) -> None:
        for _attempt in range(5):
            try:
                response = self.client.send_message_batch(QueueUrl=url, Entries=entries)
            except ClientError as exc:
                if is_not_found(exc):
                    self._urls.pop(queue, None)
                    raise NotFound(f"no queue {queue!r}") from None
                raise
            failed = response.get("Failed", [])
            if not failed:
                return
            if any(f.get("SenderFault") for f in failed):
                raise RuntimeError(f"SQS refused messages: {failed}")
            retry = {f["Id"] for f in failed}  # server-side faults: resend only those
            entries = [e for e in entries if e["Id"] in retry]
        raise RuntimeError(f"SQS kept failing {len(entries)} message(s) of a batch")

    def receive(self, queue: str, visibility_s: int = 300, max_messages: int = 1) -> list[QueueMessage]:
        url = self._call_on(queue)
        try:
            response = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=max(1, min(max_messages, 10)),
                VisibilityTimeout=visibility_s,
                WaitTimeSeconds=self.wait_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=[ID_ATTRIBUTE],
            )
        except ClientError as exc:
            if is_not_found(exc):
                raise NotFound(f"no queue {queue!r}") from None
            raise
        return [self._message(m) for m in response.get("Messages", [])]

    @staticmethod
    def _message(message: MessageTypeDef, receipt: str | None = None) -> QueueMessage:
        custom: dict[str, Any] = dict(message.get("MessageAttributes", {}))
        item = str(custom.get(ID_ATTRIBUTE, {}).get("StringValue", message.get("MessageId", "")))
        return QueueMessage(
            message_id=item,
            body=message.get("Body", ""),
            receipt=message.get("ReceiptHandle", "") if receipt is None else receipt,
            receive_count=int(_attributes(message).get("ApproximateReceiveCount", "1")),
        )

    def delete(self, queue: str, receipt: str) -> None:
        try:
            self.client.delete_message(QueueUrl=self._call_on(queue), ReceiptHandle=receipt)
        except ClientError as exc:
            # SQS ignores the receipt of an earlier lease; an invalid one is just as harmless.
            if code_of(exc) not in ("ReceiptHandleIsInvalid", "InvalidParameterValue"):
                raise

    def depth(self, queue: str) -> int:
        try:
            attributes = self.client.get_queue_attributes(
                QueueUrl=self._call_on(queue),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except ClientError as exc:
            if is_not_found(exc):
                raise NotFound(f"no queue {queue!r}") from None
            raise
        return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def dead_letters(self, queue: str) -> list[QueueMessage]:
        """Peek at the DLQ without consuming: receive with visibility 0 leaves every message
        visible, so keep receiving until a round shows nothing new."""
        self._call_on(queue)
        url = self._url(dlq_name(queue))
        seen: dict[str, tuple[int, QueueMessage]] = {}
        for _round in range(50):
            response = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=[ID_ATTRIBUTE],
            )
            fresh = [m for m in response.get("Messages", []) if m.get("MessageId", "") not in seen]
            for m in fresh:
                sent = int(_attributes(m).get("SentTimestamp", "0"))
                seen[m.get("MessageId", "")] = (sent, self._message(m, receipt=""))
            if not fresh:
                break
        return [message for _sent, message in sorted(seen.values(), key=lambda pair: pair[0])]

    def redrive(self, queue: str) -> int:
        """Receive from the DLQ, send each message to the queue (its item id kept), then delete
        it from the DLQ: exact, and synchronous, unlike StartMessageMoveTask (asynchronous, and
        not modelled by moto). A crash between send and delete leaves a duplicate, which
        `review next` skips once the item is decided. Received messages stay invisible for the
        lease below, so each round sees new ones; the loop ends when a long poll finds none."""
        url = self._call_on(queue)
        dlq_url = self._url(dlq_name(queue))
        moved = 0
        while True:
            response = self.client.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=SEND_BATCH,
                VisibilityTimeout=REDRIVE_LEASE_S,
                WaitTimeSeconds=REDRIVE_WAIT_S,
                MessageAttributeNames=[ID_ATTRIBUTE],
            )
            messages = response.get("Messages", [])
            if not messages:
                return moved
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(n),
                    "MessageBody": m.get("Body", ""),
                    "MessageAttributes": {
                        ID_ATTRIBUTE: {"DataType": "String", "StringValue": self._message(m).message_id}
                    },
                }
                for n, m in enumerate(messages)
            ]
            self._send_batch(queue, url, entries)
            self.client.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m.get("ReceiptHandle", "")} for n, m in enumerate(messages)],
            )
            moved += len(messages)
