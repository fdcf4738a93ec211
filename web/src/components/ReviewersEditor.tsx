import type { Reviewer } from "../api";
import { PERSON_NAME } from "../generated/names";

export function reviewerProblems(reviewers: Reviewer[]): string[] {
  const problems: string[] = [];
  const names = reviewers.map((r) => r.name.trim());
  if (names.filter(Boolean).length === 0) problems.push("Add at least one reviewer.");
  for (const name of names) {
    if (name && !PERSON_NAME.pattern.test(name)) problems.push(`Reviewer '${name}': ${PERSON_NAME.description.toLowerCase()}.`);
  }
  const repeated = names.filter((n, i) => n && names.indexOf(n) !== i);
  if (repeated.length) problems.push(`Reviewer '${repeated[0]}' is listed twice.`);
  for (const r of reviewers) {
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 1000) problems.push(`Weight of '${r.name}' must be a whole number from 1 to 1000.`);
  }
  return problems;
}

/** Reviewers with optional weights: a reviewer of weight 2 gets two inputs for every one of weight 1. */
export function ReviewersEditor({ value, onChange }: { value: Reviewer[]; onChange: (next: Reviewer[]) => void }) {
  const update = (index: number, patch: Partial<Reviewer>) =>
    onChange(value.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  return (
    <fieldset class="reviewers">
      <legend>Reviewers (weights optional)</legend>
      {value.map((reviewer, index) => (
        <div class="reviewer-row" key={index}>
          <label>
            Name
            <input
              type="text"
              name={`reviewer-${index}`}
              value={reviewer.name}
              autocomplete="off"
              onInput={(e) => update(index, { name: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Weight
            <input
              type="number"
              name={`weight-${index}`}
              min={1}
              max={1000}
              step={1}
              value={reviewer.weight}
              onInput={(e) => update(index, { weight: Number((e.target as HTMLInputElement).value) })}
            />
          </label>
          <button
            type="button"
            aria-label={`Remove reviewer ${reviewer.name || index + 1}`}
            onClick={() => onChange(value.filter((_, i) => i !== index))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...value, { name: "", weight: 1 }])}>
        Add reviewer
      </button>
    </fieldset>
  );
}
