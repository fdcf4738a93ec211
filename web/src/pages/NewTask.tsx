import { useEffect, useMemo, useState } from "preact/hooks";
import type { Dataset, ModelSpec, Reviewer, Task, TaskCreate, Thresholds } from "../api";
import { navigate, useLoad, useSession } from "../app";
import { ReviewersEditor, reviewerProblems } from "../components/ReviewersEditor";
import { ThresholdSlider, thresholdProblems } from "../components/ThresholdSlider";
import { Dialog, ErrorMessage, FormFooter, Page } from "../components/ui";
import { TASK_NAME } from "../generated/names";

export function NewTaskPage() {
  const { api } = useSession();
  const datasets = useLoad(() => api.all<Dataset>("/datasets"), []);
  const models = useLoad(() => api.all<ModelSpec>("/models"), []);
  const [name, setName] = useState("");
  const [dataset, setDataset] = useState("");
  const [autoAnnotate, setAutoAnnotate] = useState(true);
  const [modelId, setModelId] = useState("");
  const [concepts, setConcepts] = useState<string[]>([]);
  const [filter, setFilter] = useState("");
  const [thresholds, setThresholds] = useState<Thresholds>({ lower: 0.4, upper: 0.8 });
  const [overrides, setOverrides] = useState<Record<string, Thresholds>>({});
  const [dialogOpen, setDialogOpen] = useState(false);
  const [reviewers, setReviewers] = useState<Reviewer[]>([{ name: "", weight: 1 }]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!dataset && datasets.data?.length) setDataset(datasets.data[0].name);
  }, [datasets.data]);
  useEffect(() => {
    if (!modelId && models.data?.length) setModelId(models.data[0].id);
  }, [models.data]);

  const model = models.data?.find((m) => m.id === modelId);
  // Picking another model keeps only the concepts it also has.
  useEffect(() => {
    if (!model) return;
    setConcepts((chosen) => chosen.filter((c) => model.labels.includes(c)));
    setOverrides((o) => Object.fromEntries(Object.entries(o).filter(([c]) => model.labels.includes(c))));
  }, [modelId, models.data]);

  const shown = useMemo(() => {
    const wanted = filter.trim().toLowerCase();
    return (model?.labels ?? []).filter((label) => !wanted || label.toLowerCase().includes(wanted));
  }, [model, filter]);

  const problems = [
    ...(name.trim() === "" ? ["Give the task a name."] : TASK_NAME.pattern.test(name) ? [] : [`Name: ${TASK_NAME.description.toLowerCase()}.`]),
    ...(dataset ? [] : ["Pick a dataset (add one with `autolabel dataset add`)."]),
    ...(model ? [] : ["Pick a model."]),
    ...(concepts.length === 0 ? ["Pick at least one concept."] : []),
    ...thresholdProblems(thresholds, "Thresholds"),
    ...Object.entries(overrides).flatMap(([c, t]) => thresholdProblems(t, `Thresholds of '${c}'`)),
    ...reviewerProblems(reviewers),
  ];

  const toggle = (concept: string) =>
    setConcepts((chosen) => (chosen.includes(concept) ? chosen.filter((c) => c !== concept) : [...chosen, concept]));

  const submit = async (event: Event) => {
    event.preventDefault();
    if (problems.length) return;
    setBusy(true);
    setError(null);
    try {
      await api.post<Task>("/tasks", {
        name: name.trim(),
        dataset,
        model: modelId,
        concepts,
        auto_annotate: autoAnnotate,
        thresholds,
        concept_thresholds: overrides,
        reviewers: reviewers.filter((r) => r.name.trim()).map((r) => ({ name: r.name.trim(), weight: r.weight })),
      } satisfies TaskCreate);
      navigate("#/tasks");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="New Labeling Task">
      <ErrorMessage error={error ?? datasets.error ?? models.error} />
      <form class="task-form" onSubmit={submit} noValidate>
        <label>
          Task name
          <input type="text" name="name" value={name} autocomplete="off" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Dataset
          <select name="dataset" value={dataset} onChange={(e) => setDataset((e.target as HTMLSelectElement).value)}>
            {(datasets.data ?? []).map((d) => (
              <option key={d.id} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset class="inline">
          <legend>Auto-annotation</legend>
          <label>
            <input type="radio" name="auto" checked={autoAnnotate} onChange={() => setAutoAnnotate(true)} /> Yes — confident predictions become annotations
          </label>
          <label>
            <input type="radio" name="auto" checked={!autoAnnotate} onChange={() => setAutoAnnotate(false)} /> No — a person reviews every kept prediction
          </label>
        </fieldset>
        <label>
          Model
          <select name="model" value={modelId} onChange={(e) => setModelId((e.target as HTMLSelectElement).value)}>
            {(models.data ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} ({m.kind}, {m.labels.length} concepts)
              </option>
            ))}
          </select>
        </label>
        <fieldset class="concepts">
          <legend>Concepts ({concepts.length} chosen, from the model's {model?.labels.length ?? 0})</legend>
          <div class="chips" aria-live="polite">
            {concepts.map((c) => (
              <button type="button" class="chip" key={c} aria-label={`Remove concept ${c}`} onClick={() => toggle(c)}>
                {c} ×
              </button>
            ))}
          </div>
          <label>
            Find a concept
            <input type="search" name="concept-filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
          </label>
          <div class="concept-list" role="group" aria-label="The model's concepts">
            {shown.map((label) => (
              <label key={label} class="check">
                <input type="checkbox" name="concept" value={label} checked={concepts.includes(label)} onChange={() => toggle(label)} />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <ThresholdSlider id="global" label="Thresholds (all concepts)" value={thresholds} onChange={setThresholds} />
        <p>
          <button type="button" onClick={() => setDialogOpen(true)} disabled={concepts.length === 0}>
            Per-concept thresholds…
          </button>{" "}
          {Object.keys(overrides).length > 0 && (
            <span class="small">
              {Object.entries(overrides)
                .map(([c, t]) => `${c}: ${t.lower}–${t.upper}`)
                .join("; ")}
            </span>
          )}
        </p>
        <ReviewersEditor value={reviewers} onChange={setReviewers} />
        <FormFooter problems={problems} intro="Before this task can be created:" submitLabel="Create" busy={busy} />
      </form>
      <Dialog title="Per-concept thresholds" open={dialogOpen} onClose={() => setDialogOpen(false)}>
        <p class="small">A concept with its own thresholds ignores the task's; the others use them.</p>
        {concepts.map((concept) => {
          const own = overrides[concept];
          return (
            <div key={concept} class="override">
              <label class="check">
                <input
                  type="checkbox"
                  checked={own !== undefined}
                  onChange={() =>
                    setOverrides((o) => {
                      const next = { ...o };
                      if (own) delete next[concept];
                      else next[concept] = { ...thresholds };
                      return next;
                    })
                  }
                />
                Own thresholds for <strong>{concept}</strong>
              </label>
              {own && (
                <ThresholdSlider
                  id={`concept-${concept}`}
                  label={concept}
                  value={own}
                  onChange={(t) => setOverrides((o) => ({ ...o, [concept]: t }))}
                />
              )}
            </div>
          );
        })}
        <div class="buttons">
          <button type="button" class="primary" onClick={() => setDialogOpen(false)}>
            Done
          </button>
        </div>
      </Dialog>
    </Page>
  );
}
