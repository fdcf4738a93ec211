import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  enc,
  type Annotation,
  type BoxGeometry,
  type Choose,
  type Decided,
  type EditDecision,
  type EditIn,
  type NextItem,
  type ReviewProgress,
  type ReviewView,
  type TaskDetail,
} from "../api";
import { navigate, useSession } from "../app";
import { Overlay, useImage, useNaturalSize, type Shape } from "../components/Overlay";
import { ErrorMessage, Notice, Page } from "../components/ui";

type Mark = "accept" | "reject";
interface Choice {
  mark: Mark;
  concept: string;
  box: BoxGeometry | null; // the edited box, when changed
}

/**
 * A flagged annotation is a model's prediction awaiting review, so it has a prediction id (the
 * document types every annotation alike, with prediction_id optional and nullable).
 */
type Flagged = Annotation & { prediction_id: string };
const isFlagged = (a: Annotation): a is Flagged => typeof a.prediction_id === "string";

/** A file's name without its folders: what a person recognises. */
const fileName = (path: string) => path.split(/[\\/]/).pop() || path;

const DECIDED_WORDS: Record<string, string> = { accept: "Accepted", reject: "Rejected", edit: "Saved with your edits" };

/** Review one item at a time: the next of the caller's queue (taskId) or one item by id (itemId). */
export function ReviewPage({ taskId, itemId }: { taskId?: string; itemId?: string }) {
  const { api } = useSession();
  const [view, setView] = useState<ReviewView | null>(null);
  const [empty, setEmpty] = useState(false);
  const [forbidden, setForbidden] = useState<ApiError | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [progress, setProgress] = useState<ReviewProgress | null>(null);
  const [concepts, setConcepts] = useState<string[]>([]);
  const [taskName, setTaskName] = useState<string>("");
  const [choices, setChoices] = useState<Record<string, Choice>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const currentTask = view?.item.task_id ?? taskId;

  const show = (found: ReviewView | null) => {
    setView(found);
    setEmpty(found === null);
    setEditing(false);
    setConflict(false);
    setSelected(found?.flagged[0]?.prediction_id ?? null);
    setChoices(
      Object.fromEntries(
        (found?.flagged ?? []).filter(isFlagged).map((a) => [a.prediction_id, { mark: "accept", concept: a.concept, box: null }]),
      ),
    );
  };

  const refreshProgress = async (task: string) => {
    setProgress(await api.get<ReviewProgress>(`/tasks/${enc(task)}/review/progress`));
  };

  const loadNext = async (task: string) => {
    setError(null);
    try {
      const next = await api.post<NextItem>(`/tasks/${enc(task)}/review/next`);
      show(next.item);
      await refreshProgress(task);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 403) setForbidden(failure);
      else setError(failure);
    }
  };

  useEffect(() => {
    (async () => {
      try {
        if (itemId) {
          const found = await api.get<ReviewView>(`/review/items/${enc(itemId)}`);
          show(found);
          if (found.item.state !== "PENDING") {
            setNotice(`This item was already decided (${found.item.decision}) by ${found.item.decided_by}.`);
          }
          await refreshProgress(found.item.task_id);
        } else if (taskId) {
          await loadNext(taskId);
        }
      } catch (failure) {
        if (failure instanceof ApiError && failure.status === 403) setForbidden(failure);
        else setError(failure);
      }
    })();
  }, [taskId, itemId]);

  useEffect(() => {
    if (!currentTask || forbidden) return;
    api.get<TaskDetail>(`/tasks/${enc(currentTask)}`).then(
      (detail) => {
        setConcepts(detail.task.concepts);
        setTaskName(detail.task.name);
      },
      () => undefined, // the page works without the concept list; the error shows on decide
    );
  }, [currentTask, forbidden]);

  const image = useImage(api, view?.input.id);
  const size = useNaturalSize(image.url);

  const decide = async (kind: "accept" | "reject" | "marks") => {
    if (!view || busy || view.item.state !== "PENDING") return;
    const flagged = view.flagged.filter(isFlagged).map((a) => a.prediction_id);
    const marks: Record<string, Choice> = { ...choices };
    if (kind !== "marks") for (const id of flagged) marks[id] = { ...marks[id], mark: kind };
    const edits: EditIn[] = [];
    for (const annotation of view.flagged.filter(isFlagged)) {
      const id = annotation.prediction_id;
      const choice = marks[id];
      if (kind === "reject" || choice.mark === "reject") continue;
      const edit: EditIn = { prediction_id: id };
      if (choice.concept !== annotation.concept) edit.concept = choice.concept;
      if (choice.box) edit.box = choice.box;
      if (edit.concept || edit.box) edits.push(edit);
    }
    const rejected = flagged.filter((id) => marks[id].mark === "reject");
    const accepted = flagged.filter((id) => marks[id].mark === "accept");
    const base = `/review/items/${enc(view.item.id)}`;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      let result: Decided;
      if (edits.length) result = await api.post<Decided>(`${base}/edit`, { edits, rejected_prediction_ids: rejected } satisfies EditDecision);
      else if (rejected.length === 0) result = await api.post<Decided>(`${base}/accept`, {} satisfies Choose);
      else if (accepted.length === 0) result = await api.post<Decided>(`${base}/reject`, {} satisfies Choose);
      else result = await api.post<Decided>(`${base}/accept`, { prediction_ids: accepted } satisfies Choose);
      setNotice(`${DECIDED_WORDS[result.decision] ?? result.decision}: ${fileName(view.input.source || view.input.id)}.`);
      if (itemId) navigate(`#/review/${enc(view.item.task_id)}`);
      else await loadNext(view.item.task_id);
    } catch (failure) {
      setError(failure);
      if (failure instanceof ApiError && failure.status === 409) {
        setConflict(true);
        await refreshProgress(view.item.task_id).catch(() => undefined);
      }
    } finally {
      setBusy(false);
    }
  };

  const next = () => {
    if (!currentTask) return;
    setNotice(null);
    if (itemId) navigate(`#/review/${enc(currentTask)}`);
    else void loadNext(currentTask);
  };

  const startEdit = () => {
    if (!view || view.item.state !== "PENDING") return;
    const target = selected ?? view.flagged[0]?.prediction_id ?? null;
    setSelected(target);
    setEditing((on) => !on);
    setTimeout(() => panel.current?.querySelector<HTMLElement>(`[data-prediction="${target}"] select`)?.focus(), 0);
  };

  // Shortcuts: a accept, r reject, e edit, n next, s save marks — not while typing in a field.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.ctrlKey || event.metaKey || event.altKey || target.closest("input, select, textarea, dialog")) return;
      const actions: Record<string, () => void> = {
        a: () => void decide("accept"),
        r: () => void decide("reject"),
        s: () => void decide("marks"),
        e: startEdit,
        n: next,
      };
      const action = actions[event.key.toLowerCase()];
      if (action) {
        event.preventDefault();
        action();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });

  if (forbidden) {
    return (
      <main id="main" class="forbidden" tabIndex={-1} data-testid="forbidden">
        <h1>403 — not your item</h1>
        <p role="alert">{forbidden.message}</p>
        <p>Items are split between reviewers; you can open only the items of your own queue.</p>
        <a href="#/tasks">Back to Labeling Tasks</a>
      </main>
    );
  }

  const pendingLeft = progress ? progress.pending : null;
  const queueLine =
    progress && pendingLeft !== null ? `${pendingLeft} of ${progress.total} left in your queue` : "";

  const shapes: Shape[] = view
    ? [
        ...view.approved.map((a) => ({ id: a.id, concept: a.concept, score: a.score, geometry: a.geometry, tone: "approved" as const })),
        ...view.flagged.filter(isFlagged).map((a) => {
          const id = a.prediction_id;
          const choice = choices[id];
          return {
            id,
            concept: choice?.concept ?? a.concept,
            score: a.score,
            geometry: choice?.box ?? a.geometry,
            tone: choice?.mark === "reject" ? ("rejected" as const) : id === selected ? ("selected" as const) : ("flagged" as const),
          };
        }),
      ]
    : [];
  const editedAnnotation = editing && view ? view.flagged.find((a) => a.prediction_id === selected) : undefined;
  const editingBox =
    editedAnnotation && editedAnnotation.geometry.type === "box"
      ? { id: selected as string, box: choices[selected as string]?.box ?? editedAnnotation.geometry }
      : null;

  return (
    <Page title={taskName ? `Review · ${taskName}` : "Review"} actions={<span class="queue" data-testid="queue">{queueLine}</span>}>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={error ?? image.error} />
      {conflict && (
        <p>
          Another decision on this item came first; yours was not recorded.{" "}
          <button type="button" class="primary" onClick={next}>
            Go to the next item
          </button>
        </p>
      )}
      {empty && (
        <div class="empty-state" data-testid="empty-state">
          <h2>All done</h2>
          {progress && progress.pending > 0 ? (
            <p>
              Nothing to hand out right now: {progress.pending} of your items are leased (open elsewhere, or skipped) and
              return to your queue when their five-minute lease ends.
            </p>
          ) : (
            <p>Nothing left in your queue for this task. Thank you!</p>
          )}
          <a class="button" href="#/tasks">
            Back to Labeling Tasks
          </a>
        </div>
      )}
      {view && (
        <div class="review">
          <div class="stage">
            {image.url && size ? (
              <Overlay
                url={image.url}
                size={size}
                shapes={shapes}
                editing={editingBox}
                label={`${fileName(view.input.source || view.input.id)} with ${view.flagged.length} flagged predictions`}
                onEdit={(box) =>
                  setChoices((c) => ({ ...c, [selected as string]: { ...c[selected as string], box } }))
                }
              />
            ) : (
              !image.error && <p class="loading">Loading image…</p>
            )}
          </div>
          <div class="panel" ref={panel}>
            <p class="small">
              {fileName(view.input.source || view.input.id)} · item {view.item.sequence + 1}
            </p>
            <h2>Flagged predictions</h2>
            <ul class="predictions">
              {view.flagged.filter(isFlagged).map((annotation) => {
                const id = annotation.prediction_id;
                const choice = choices[id];
                if (!choice) return null;
                const edited = choice.box !== null || choice.concept !== annotation.concept;
                return (
                  <li
                    key={id}
                    data-prediction={id}
                    class={`${id === selected ? "selected" : ""} ${choice.mark}`}
                    onFocusCapture={() => setSelected(id)}
                  >
                    <div class="prediction-head">
                      <strong>{choice.concept}</strong> <span class="score">{annotation.score?.toFixed(2)}</span>
                      {edited && <span class="badge">edited</span>}
                    </div>
                    <div class="segmented" role="group" aria-label={`Decision for ${annotation.concept} ${annotation.score?.toFixed(2)}`}>
                      <button
                        type="button"
                        aria-pressed={choice.mark === "accept"}
                        onClick={() => setChoices((c) => ({ ...c, [id]: { ...c[id], mark: "accept" } }))}
                      >
                        Accept
                      </button>
                      <button
                        type="button"
                        aria-pressed={choice.mark === "reject"}
                        onClick={() => setChoices((c) => ({ ...c, [id]: { ...c[id], mark: "reject" } }))}
                      >
                        Reject
                      </button>
                    </div>
                    {editing && id === selected && (
                      <label class="concept-edit">
                        Concept
                        <select
                          value={choice.concept}
                          onChange={(e) =>
                            setChoices((c) => ({ ...c, [id]: { ...c[id], concept: (e.target as HTMLSelectElement).value } }))
                          }
                        >
                          {[...new Set([annotation.concept, ...concepts])].map((c) => (
                            <option key={c} value={c}>
                              {c}
                            </option>
                          ))}
                        </select>
                      </label>
                    )}
                  </li>
                );
              })}
            </ul>
            {view.approved.length > 0 && (
              <p class="small">Already approved on this input: {view.approved.map((a) => a.concept).join(", ")}</p>
            )}
            <div class="buttons decide">
              <button type="button" class="primary" disabled={busy} onClick={() => void decide("accept")}>
                Accept input <kbd>a</kbd>
              </button>
              <button type="button" class="danger" disabled={busy} onClick={() => void decide("reject")}>
                Reject input <kbd>r</kbd>
              </button>
              <button type="button" aria-pressed={editing} onClick={startEdit}>
                {editing ? "Done editing" : "Edit"} <kbd>e</kbd>
              </button>
              <button type="button" disabled={busy} onClick={() => void decide("marks")}>
                Save decision <kbd>s</kbd>
              </button>
              <button type="button" onClick={next}>
                Next <kbd>n</kbd>
              </button>
            </div>
            <p class="small hint">
              Accept/Reject input decides every flagged prediction (edits included). Mark predictions one by one and use
              Save decision for a mix. Edit: drag a box's corners, or focus a corner and use the arrow keys.
            </p>
          </div>
        </div>
      )}
    </Page>
  );
}
