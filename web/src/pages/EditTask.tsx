import { useEffect, useState } from "preact/hooks";
import { enc, jobProgress, type Rethreshold, type Reviewer, type Task, type TaskDetail, type TaskUpdate, type Thresholds } from "../api";
import { navigate, useLoad, useSession } from "../app";
import { ReviewersEditor, reviewerProblems } from "../components/ReviewersEditor";
import { ThresholdSlider, thresholdProblems } from "../components/ThresholdSlider";
import { ErrorMessage, FormFooter, Notice, Page } from "../components/ui";
import { TASK_NAME } from "../generated/names";

/** Rename, change reviewers (assigned items stay put) and re-threshold from stored predictions. */
export function EditTaskPage({ taskId }: { taskId: string }) {
  const { api } = useSession();
  const loaded = useLoad(() => api.get<TaskDetail>(`/tasks/${enc(taskId)}`), [taskId]);
  const [name, setName] = useState("");
  const [reviewers, setReviewers] = useState<Reviewer[]>([]);
  const [thresholds, setThresholds] = useState<Thresholds>({ lower: 0, upper: 1 });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<string | null>(null);

  useEffect(() => {
    const task = loaded.data?.task;
    if (!task) return;
    setName(task.name);
    setReviewers(task.reviewers);
    setThresholds(task.thresholds);
  }, [loaded.data]);

  const task = loaded.data?.task;
  const nameProblems = !name.trim()
    ? ["Give the task a name."]
    : TASK_NAME.pattern.test(name.trim()) ? [] : [`Name: ${TASK_NAME.description.toLowerCase()}.`];
  const problems = [...nameProblems, ...reviewerProblems(reviewers), ...thresholdProblems(thresholds)];

  const save = async (event: Event) => {
    event.preventDefault();
    if (!task || problems.length) return;
    setBusy(true);
    setError(null);
    try {
      const changed: TaskUpdate = {};
      if (name.trim() !== task.name) changed.name = name.trim();
      if (JSON.stringify(reviewers) !== JSON.stringify(task.reviewers)) changed.reviewers = reviewers;
      if (Object.keys(changed).length) await api.patch<Task>(`/tasks/${enc(task.id)}`, changed);
      if (thresholds.lower !== task.thresholds.lower || thresholds.upper !== task.thresholds.upper) {
        const body: Rethreshold = { thresholds };
        await api.job("POST", `/tasks/${enc(task.id)}/rethreshold`, body, (running) => setProgress(`Re-applying thresholds: ${jobProgress(running)} inputs…`));
      }
      navigate("#/tasks");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };

  return (
    <Page title={task ? `Edit '${task.name}'` : "Edit task"}>
      {progress && <Notice>{progress}</Notice>}
      <ErrorMessage error={error ?? loaded.error} />
      {task && (
        <form class="task-form" onSubmit={save} noValidate>
          <label>
            Task name
            <input type="text" name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <ThresholdSlider id="global" label="Thresholds (re-applied to stored predictions; decisions stand)" value={thresholds} onChange={setThresholds} />
          <ReviewersEditor value={reviewers} onChange={setReviewers} />
          <FormFooter problems={problems} submitLabel="Save" busy={busy} />
        </form>
      )}
    </Page>
  );
}
