import { useEffect, useState } from "preact/hooks";
import { enc, jobProgress, type ExportRequest, type LabelType, type ModelSpec, type RedriveReport, type ReviewProgress, type Task, type TaskDetail } from "../api";
import { navigate, useLoad, useSession } from "../app";
import { Dialog, ErrorMessage, Notice, Page, ProgressBar } from "../components/ui";

interface Row {
  detail: TaskDetail;
  mine: ReviewProgress | null; // the signed-in person's own queue, when they review this task
}

const ANNOTATION_TYPES: Record<LabelType, string> = {
  box: "Bounding boxes",
  polygon: "Polygons",
  classification: "Classification",
  text: "Text spans",
};

export function TasksPage() {
  const { api, me } = useSession();
  const admin = me.role === "admin";
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Task | null>(null);
  const [download, setDownload] = useState<{ url: string; name: string } | null>(null);
  const models = useLoad(() => api.all<ModelSpec>("/models"), []);
  const rows = useLoad(async (): Promise<Row[]> => {
    const tasks = await api.all<Task>("/tasks");
    return Promise.all(
      tasks.map(async (task) => {
        const detail = await api.get<TaskDetail>(`/tasks/${enc(task.id)}`);
        const reviews = task.reviewers.some((r) => r.name === me.name) || !admin;
        const mine = reviews ? await api.get<ReviewProgress>(`/tasks/${enc(task.id)}/review/progress`) : null;
        return { detail, mine };
      }),
    );
  }, []);

  // While a run is going, refresh every two seconds so the bar moves.
  const running = rows.data?.some((r) => r.detail.task.status === "In progress") ?? false;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(rows.reload, 2000);
    return () => clearInterval(timer);
  }, [running]);

  const act = async (what: () => Promise<string>) => {
    setActionError(null);
    setNotice(null);
    setDownload(null);
    try {
      setNotice(await what());
      rows.reload();
    } catch (error) {
      setActionError(error);
    }
  };

  const typeOf = (task: Task) => {
    const model = models.data?.find((m) => m.id === task.model_id);
    return model ? (ANNOTATION_TYPES[model.label_type] ?? model.label_type) : "…";
  };

  return (
    <Page
      title="Labeling Tasks"
      actions={admin && <a class="button primary" href="#/tasks/new">New Labeling Task</a>}
    >
      {notice && <Notice>{notice}</Notice>}
      {download && (
        <Notice>
          <a href={download.url} download={download.name}>
            Download {download.name}
          </a>
        </Notice>
      )}
      <ErrorMessage error={actionError ?? rows.error ?? models.error} />
      {rows.data && rows.data.length === 0 && (
        <p class="empty">{admin ? "No tasks yet. Create one with New Labeling Task." : "You review no tasks yet."}</p>
      )}
      {rows.data && rows.data.length > 0 && (
        <div class="table-wrap">
          <table class="tasks">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Dataset</th>
                <th scope="col">Annotation type</th>
                <th scope="col">Concepts</th>
                <th scope="col">Labelers</th>
                <th scope="col">Inputs</th>
                <th scope="col">Labeling Status</th>
                <th scope="col">% reviewed</th>
                <th scope="col">Labeled by</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map(({ detail: { task, summary }, mine }) => {
                const processed = summary.inputs_done + summary.inputs_failed;
                const percent = summary.inputs_total ? (100 * processed) / summary.inputs_total : 0;
                return (
                  <tr key={task.id} data-task={task.name}>
                    <th scope="row">{task.name}</th>
                    <td>{summary.dataset}</td>
                    <td>{typeOf(task)}</td>
                    <td>{task.concepts.join(", ")}</td>
                    <td>{task.reviewers.map((r) => (r.weight > 1 ? `${r.name} ×${r.weight}` : r.name)).join(", ")}</td>
                    <td>{summary.inputs_total}</td>
                    <td class="status-cell">
                      <span class="status" data-testid="status">{task.status}</span>
                      <ProgressBar value={task.status === "Complete" ? 100 : percent} label={`${task.name} labeling progress`} />
                      <span class="small">
                        {processed} of {summary.inputs_total} inputs
                        {summary.inputs_failed ? `, ${summary.inputs_failed} failed` : ""}
                      </span>
                      {task.failure_reason && <span class="small error-text">{task.failure_reason}</span>}
                      <DeadLetters
                        counts={summary.dead_letters}
                        redrive={
                          admin
                            ? () =>
                                act(async () => {
                                  const report = await api.post<RedriveReport>(`/tasks/${enc(task.id)}/review/redrive`);
                                  return `Moved ${report.moved} item(s) of '${task.name}' back to their reviewers' queues.`;
                                })
                            : null
                        }
                      />
                    </td>
                    <td data-testid="reviewed">{summary.percent_reviewed.toFixed(1)}%</td>
                    <td data-testid="labeled-by">
                      <ul class="plain">
                        {Object.entries(summary.labeled_by).map(([who, count]) => (
                          <li key={who} data-labeler={who}>
                            {who}: <span class="count">{count}</span>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td class="actions">
                      {mine && (
                        <button
                          type="button"
                          class="primary"
                          disabled={mine.pending === 0}
                          title={mine.pending === 0 ? "Nothing left in your queue" : `${mine.pending} waiting for you`}
                          onClick={() => navigate(`#/review/${enc(task.id)}`)}
                        >
                          Review{mine.pending ? ` (${mine.pending})` : ""}
                        </button>
                      )}
                      {admin && (
                        <>
                          <button
                            type="button"
                            disabled={task.status === "In progress"}
                            onClick={() =>
                              act(async () => {
                                await api.post(`/tasks/${enc(task.id)}/runs`);
                                return `Run of '${task.name}' started.`;
                              })
                            }
                          >
                            Run
                          </button>
                          <button
                            type="button"
                            onClick={() =>
                              act(async () => {
                                await navigator.clipboard.writeText(task.id).catch(() => undefined);
                                return `Task id of '${task.name}': ${task.id}`;
                              })
                            }
                          >
                            Copy id
                          </button>
                          <button
                            type="button"
                            onClick={() =>
                              act(async () => {
                                const job = await api.job("POST", `/tasks/${enc(task.id)}/versions`, {}, (running) =>
                                  setNotice(`Creating a dataset version of '${task.name}': ${jobProgress(running)} annotations…`),
                                );
                                const v = job.result as { number: number; annotations: number; inputs: number };
                                return `Dataset version ${v.number} of '${task.name}': ${v.annotations} annotations on ${v.inputs} inputs.`;
                              })
                            }
                          >
                            Create version
                          </button>
                          <button
                            type="button"
                            onClick={() =>
                              act(async () => {
                                const body: ExportRequest = { format: "coco", include_review: false };
                                const job = await api.job("POST", `/tasks/${enc(task.id)}/exports`, body, (running) =>
                                  setNotice(`Exporting '${task.name}': ${jobProgress(running)} images…`),
                                );
                                const made = job.result as { file: string; images: number; annotations: number };
                                if (job.result_url) setDownload({ url: job.result_url, name: made.file });
                                return `Export of '${task.name}': ${made.annotations} annotations on ${made.images} images.`;
                              })
                            }
                          >
                            Export COCO
                          </button>
                          <a class="button" href={`#/tasks/${enc(task.id)}/edit`}>
                            Edit
                          </a>
                          <button type="button" class="danger" onClick={() => setDeleting(task)}>
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Dialog title={`Delete task '${deleting?.name ?? ""}'?`} open={deleting !== null} onClose={() => setDeleting(null)}>
        <p>Its predictions, annotations, review items, queues and dataset versions are deleted. Inputs stay.</p>
        <div class="buttons">
          <button
            type="button"
            class="danger"
            onClick={() => {
              const task = deleting as Task;
              setDeleting(null);
              void act(async () => {
                await api.job("DELETE", `/tasks/${enc(task.id)}`, undefined, (running) => {
                  setNotice(`Deleting '${task.name}': ${jobProgress(running)} records…`);
                  rows.reload(); // the row says Deleting meanwhile
                });
                return `Task '${task.name}' deleted.`;
              });
            }}
          >
            Delete
          </button>
          <button type="button" onClick={() => setDeleting(null)} autofocus>
            Cancel
          </button>
        </div>
      </Dialog>
    </Page>
  );
}

/** Review items whose leases lapsed too often sit in their reviewer's dead-letter queue, where
 * nobody is offered them: say how many, per reviewer, and how to bring them back. */
function DeadLetters({ counts, redrive }: { counts: Record<string, number>; redrive: (() => void) | null }) {
  const dead = Object.entries(counts).filter(([, n]) => n > 0);
  if (dead.length === 0) return null;
  const total = dead.reduce((sum, [, n]) => sum + n, 0);
  return (
    <span class="small error-text" data-testid="dead-letters">
      {total} review item(s) dead-lettered ({dead.map(([who, n]) => `${who}: ${n}`).join(", ")}):{" "}
      {redrive ? (
        <button type="button" onClick={redrive}>
          Redrive
        </button>
      ) : (
        "an admin can redrive them"
      )}
    </span>
  );
}
