"""Run a job (export, dataset version, task deletion, rethreshold, bulk accept): SQS (the jobs
queue, one message at a time) → this function, which does the job's chunks until little time
is left, then puts the job back on the queue, so a job of any size spans invocations."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.parser.models import SqsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel import bootstrap
from autolabel.app import jobs

logger = Logger()
tracer = Tracer()
metrics = Metrics()
world = bootstrap.aws()

# Stop starting chunks with this much time left: the longest chunk (a page of bulk accepts,
# ~500 requests; an export's final assembly) ends well within it, and a timeout mid-chunk only
# repeats that chunk anyway.
MARGIN_MS = 60_000
# The jobs queue's maxReceiveCount (infra/jobs.py): on the last delivery a job whose worker
# keeps crashing is failed with the reason instead of waiting in the dead-letter queue.
MAX_RECEIVES = 3


class JobMessage(BaseModel):
    job_id: str


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes: dict[str, Any] = {}
    for record in parse(event=event, model=SqsModel).Records:
        job_id = JobMessage.model_validate_json(str(record.body)).job_id
        logger.append_keys(job_id=job_id)
        try:
            job = jobs.continue_job(world.backends, job_id, lambda: context.get_remaining_time_in_millis() < MARGIN_MS)
        except Exception as error:
            if int(record.attributes.ApproximateReceiveCount) < MAX_RECEIVES:
                raise  # SQS delivers it again after the visibility timeout; the checkpoint stays
            logger.exception("job failed on its last delivery")
            job = jobs.fail_job(world.backends, job_id, f"{type(error).__name__}: {error}")
        metrics.add_metric(name="JobChunks", unit=MetricUnit.Count, value=1)
        logger.info("job worked on", extra={"state": job.state.value, "done": job.done, "total": job.total})
        outcomes[job_id] = {"state": job.state.value, "done": job.done, "total": job.total}
    return outcomes
