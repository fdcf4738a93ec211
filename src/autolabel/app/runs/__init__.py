"""The run use case: a task's model labels its dataset.

One lifecycle, the same in both worlds (``lifecycle``): **request** (an admin asks; checks, In
progress, the launcher), **start** (register the dataset's inputs, re-send review items a crash
left unsent), **process batches** (infer → route → record → enqueue, any order, retried freely),
**finalize** (what no batch recorded becomes a failed input with its reason, the status is set).

* embedded: ``local.run_task`` loops over the batches with a worker pool that overlaps decoding
  and inference, recording in batch order (``autolabel task run``, and the API's thread launcher);
* AWS: Step Functions calls the same steps from Lambda (``functions/start_run``, ``infer_batch``,
  ``finalize_run``); an upload to a watched prefix is one small run (``uploads``).

``lifecycle`` imports no numpy, Pillow or onnxruntime: the API requests runs without them.
Inference lives in ``inference`` (and ``local``, ``uploads``), which only the run's workers load.
"""
