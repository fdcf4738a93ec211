import { useEffect, useMemo, useState } from "preact/hooks";
import {
  ANNOTATION_STATUSES,
  enc,
  labelerName,
  type Annotation,
  type AnnotationList,
  type AnnotationsAdd,
  type AnnotationsDelete,
  type AnnotationStatus,
  type Count,
  type Deleted,
  type InputsDelete,
  type Task,
  type TaskDetail,
} from "../api";
import { useLoad, useSession } from "../app";
import { Overlay, useImage, useNaturalSize } from "../components/Overlay";
import { Dialog, ErrorMessage, Notice, Page } from "../components/ui";

interface Filters {
  task: string;
  labelers: string[];
  statuses: AnnotationStatus[];
  concepts: string[];
  match: "all" | "any";
}

const STATUS_WORDS: Record<AnnotationStatus, string> = {
  SUCCESS: "Success",
  AWAITING_REVIEW: "Awaiting Review",
  AWAITING_CONSENSUS_REVIEW: "Awaiting Consensus Review",
  PENDING: "Pending",
  REJECTED: "Rejected",
};

function query(filters: Filters): string {
  const params = new URLSearchParams({ task: filters.task, match: filters.match });
  if (filters.labelers.length) params.set("labeler", filters.labelers.join(","));
  if (filters.statuses.length) params.set("status", filters.statuses.join(","));
  if (filters.concepts.length) params.set("concept", filters.concepts.join(","));
  return `/annotations?${params}`;
}

function toggled<T>(list: T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

export function InputManagerPage() {
  const { api, me } = useSession();
  const tasks = useLoad(() => api.all<Task>("/tasks"), []);
  const [filters, setFilters] = useState<Filters>({ task: "", labelers: [], statuses: [], concepts: [], match: "all" });
  const [applied, setApplied] = useState<Filters | null>(null);
  const [objectMode, setObjectMode] = useState(false);
  const [selected, setSelected] = useState<string[]>([]); // input ids (gallery) or annotation ids (objects)
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<"add" | "delete" | null>(null);
  const [newConcept, setNewConcept] = useState("");

  useEffect(() => {
    if (!filters.task && tasks.data?.length) {
      const first = { ...filters, task: tasks.data[0].id };
      setFilters(first);
      setApplied(first);
    }
  }, [tasks.data]);

  const detail = useLoad(
    async () => (filters.task ? api.get<TaskDetail>(`/tasks/${enc(filters.task)}`) : undefined),
    [filters.task],
  );
  const annotations = useLoad(
    async () => (applied?.task ? api.all<Annotation>(query(applied)) : []),
    [applied],
  );

  const task = detail.data?.task;
  // Who can have labeled: the model, the reviewers, whoever the counters name, admins (you add
  // labels here) and whoever labeled what is shown now.
  const labelers = useMemo(() => {
    const known = new Set([
      me.name,
      ...(task?.reviewers.map((r) => r.name) ?? []),
      ...Object.keys(detail.data?.summary.labeled_by ?? {}),
      ...(annotations.data ?? []).map((a) => labelerName(a.labeled_by)),
      ...filters.labelers,
    ]);
    if (task) known.add(`${task.model_id}@${task.model_version}`);
    return [...known].sort();
  }, [detail.data, annotations.data]);

  const byInput = useMemo(() => {
    const groups = new Map<string, Annotation[]>();
    for (const a of annotations.data ?? []) groups.set(a.input_id, [...(groups.get(a.input_id) ?? []), a]);
    return groups;
  }, [annotations.data]);

  useEffect(() => setSelected([]), [annotations.data, objectMode]);

  const selectedInputs = objectMode
    ? [...new Set((annotations.data ?? []).filter((a) => selected.includes(a.id)).map((a) => a.input_id))]
    : selected;
  const selectedAnnotations = objectMode
    ? selected
    : (annotations.data ?? []).filter((a) => selected.includes(a.input_id)).map((a) => a.id);

  const act = async (what: () => Promise<string>) => {
    setActionError(null);
    setNotice(null);
    try {
      setNotice(await what());
      annotations.reload();
      detail.reload();
    } catch (error) {
      setActionError(error);
    }
  };

  return (
    <Page title="Input Manager">
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
        }}
      >
        <label>
          Task
          <select
            name="task"
            value={filters.task}
            onChange={(e) => setFilters({ task: (e.target as HTMLSelectElement).value, labelers: [], statuses: [], concepts: [], match: filters.match })}
          >
            {(tasks.data ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Labeler</legend>
          {labelers.map((l) => (
            <label class="check" key={l}>
              <input type="checkbox" name="labeler" value={l} checked={filters.labelers.includes(l)} onChange={() => setFilters({ ...filters, labelers: toggled(filters.labelers, l) })} />
              {l}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Status</legend>
          {ANNOTATION_STATUSES.map((s) => (
            <label class="check" key={s}>
              <input type="checkbox" name="status" value={s} checked={filters.statuses.includes(s)} onChange={() => setFilters({ ...filters, statuses: toggled(filters.statuses, s) })} />
              {STATUS_WORDS[s]}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Concept</legend>
          {(task?.concepts ?? []).map((c) => (
            <label class="check" key={c}>
              <input type="checkbox" name="concept" value={c} checked={filters.concepts.includes(c)} onChange={() => setFilters({ ...filters, concepts: toggled(filters.concepts, c) })} />
              {c}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Combine filters</legend>
          <label class="check">
            <input type="radio" name="match" checked={filters.match === "all"} onChange={() => setFilters({ ...filters, match: "all" })} /> AND (every filter)
          </label>
          <label class="check">
            <input type="radio" name="match" checked={filters.match === "any"} onChange={() => setFilters({ ...filters, match: "any" })} /> OR (any filter)
          </label>
        </fieldset>
        <div class="buttons">
          <button type="submit" class="primary">
            Apply filters
          </button>
        </div>
      </form>

      <div class="toolbar" role="toolbar" aria-label="Selection">
        <label class="check">
          <input type="checkbox" name="object-mode" checked={objectMode} onChange={() => setObjectMode(!objectMode)} /> Object Mode (annotated objects as crops)
        </label>
        <span class="small" data-testid="selection">
          {selected.length} selected · {annotations.data?.length ?? 0} annotations on {byInput.size} inputs
        </span>
        <button type="button" disabled={selectedInputs.length === 0} onClick={() => { setNewConcept(task?.concepts[0] ?? ""); setDialog("add"); }}>
          Add Concepts
        </button>
        <button
          type="button"
          disabled={selectedAnnotations.length === 0}
          onClick={() =>
            act(async () => {
              const done = await api.post<Count>(`/tasks/${enc(filters.task)}/annotations/delete`, {
                annotation_ids: selectedAnnotations,
                input_ids: selectedInputs,
              } satisfies AnnotationsDelete);
              return `Removed ${done.deleted} annotation(s).`;
            })
          }
        >
          Remove Annotations
        </button>
        <button type="button" class="danger" disabled={selectedInputs.length === 0} onClick={() => setDialog("delete")}>
          Delete Input
        </button>
      </div>

      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={actionError ?? tasks.error ?? annotations.error ?? detail.error} />
      {annotations.data && annotations.data.length === 0 && <p class="empty">No annotations match these filters.</p>}

      {!objectMode && (
        <ul class="gallery" aria-label="Inputs" aria-busy={annotations.loading}>
          {[...byInput.entries()].map(([inputId, found]) => (
            <InputCard
              key={inputId}
              inputId={inputId}
              annotations={found}
              selected={selected.includes(inputId)}
              onToggle={() => setSelected(toggled(selected, inputId))}
            />
          ))}
        </ul>
      )}
      {objectMode && (
        <ul class="gallery objects" aria-label="Objects" aria-busy={annotations.loading}>
          {(annotations.data ?? []).map((a) => (
            <ObjectCard key={a.id} annotation={a} selected={selected.includes(a.id)} onToggle={() => setSelected(toggled(selected, a.id))} />
          ))}
        </ul>
      )}

      <Dialog title="Add a concept to the selected inputs" open={dialog === "add"} onClose={() => setDialog(null)}>
        <label>
          Concept
          <select value={newConcept} onChange={(e) => setNewConcept((e.target as HTMLSelectElement).value)}>
            {(task?.concepts ?? []).map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <p class="small">Each of the {selectedInputs.length} input(s) gets a whole-input label, status Success, by you.</p>
        <div class="buttons">
          <button
            type="button"
            class="primary"
            onClick={() => {
              setDialog(null);
              void act(async () => {
                const added = await api.post<AnnotationList>(`/tasks/${enc(filters.task)}/annotations`, {
                  input_ids: selectedInputs,
                  concept: newConcept,
                } satisfies AnnotationsAdd);
                return `Added '${newConcept}' to ${added.items.length} input(s).`;
              });
            }}
          >
            Add
          </button>
          <button type="button" onClick={() => setDialog(null)}>
            Cancel
          </button>
        </div>
      </Dialog>
      <Dialog title={`Delete ${selectedInputs.length} input(s)?`} open={dialog === "delete"} onClose={() => setDialog(null)}>
        <p>The inputs and everything recorded about them (in every task) are deleted, with their uploaded files.</p>
        <div class="buttons">
          <button
            type="button"
            class="danger"
            onClick={() => {
              setDialog(null);
              void act(async () => {
                const done = await api.post<Deleted>("/inputs/delete", { input_ids: selectedInputs } satisfies InputsDelete);
                return `Deleted ${done.deleted.length} input(s).`;
              });
            }}
          >
            Delete
          </button>
          <button type="button" onClick={() => setDialog(null)} autofocus>
            Cancel
          </button>
        </div>
      </Dialog>
    </Page>
  );
}

function InputCard({ inputId, annotations, selected, onToggle }: { inputId: string; annotations: Annotation[]; selected: boolean; onToggle: () => void }) {
  const { api } = useSession();
  const image = useImage(api, inputId);
  const size = useNaturalSize(image.url);
  return (
    <li class={`card${selected ? " selected" : ""}`} data-input={inputId}>
      <label class="check card-select">
        <input type="checkbox" checked={selected} onChange={onToggle} aria-label={`Select input ${inputId}`} /> Select
      </label>
      <div class="thumb">
        {image.url && size ? (
          <Overlay
            url={image.url}
            size={size}
            editing={null}
            onEdit={() => undefined}
            label={`input ${inputId}`}
            shapes={annotations.map((a) => ({
              id: a.id,
              concept: a.concept,
              score: a.score,
              geometry: a.geometry,
              tone: a.status === "REJECTED" ? "rejected" : a.status === "SUCCESS" ? "approved" : "flagged",
            }))}
          />
        ) : (
          <ErrorMessage error={image.error} />
        )}
      </div>
      <ul class="plain small">
        {annotations.map((a) => (
          <li key={a.id} data-annotation-id={a.id}>
            {a.concept} · {STATUS_WORDS[a.status]} · {labelerName(a.labeled_by)}
          </li>
        ))}
      </ul>
    </li>
  );
}

function ObjectCard({ annotation, selected, onToggle }: { annotation: Annotation; selected: boolean; onToggle: () => void }) {
  const { api } = useSession();
  const image = useImage(api, annotation.input_id);
  const size = useNaturalSize(image.url);
  const g = annotation.geometry;
  let view = size ? { x: 0, y: 0, w: size.w, h: size.h } : null;
  if (size && (g.type === "box" || g.type === "polygon")) {
    const xs = g.type === "box" ? [g.x, g.x + g.w] : g.points.map((p) => p[0]);
    const ys = g.type === "box" ? [g.y, g.y + g.h] : g.points.map((p) => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    view = { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
  }
  return (
    <li class={`card object${selected ? " selected" : ""}`} data-annotation-id={annotation.id}>
      <label class="check card-select">
        <input type="checkbox" checked={selected} onChange={onToggle} aria-label={`Select ${annotation.concept} object ${annotation.id}`} /> Select
      </label>
      <div class="crop">
        {image.url && size && view && (
          <svg viewBox={`${view.x} ${view.y} ${view.w} ${view.h}`} role="img" aria-label={`${annotation.concept} crop`} preserveAspectRatio="xMidYMid meet">
            <image href={image.url} x={0} y={0} width={size.w} height={size.h} />
          </svg>
        )}
      </div>
      <p class="small">
        {annotation.concept} · {STATUS_WORDS[annotation.status]} · {labelerName(annotation.labeled_by)}
      </p>
    </li>
  );
}
