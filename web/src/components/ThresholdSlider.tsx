import type { Thresholds } from "../api";

/** Problems with a pair of thresholds, in words; empty when valid. */
export function thresholdProblems(t: Thresholds, what = "Thresholds"): string[] {
  const problems: string[] = [];
  for (const [name, value] of [["lower", t.lower], ["upper", t.upper]] as const) {
    if (!Number.isFinite(value) || value < 0 || value > 1) problems.push(`${what}: ${name} must be a number from 0 to 1.`);
  }
  if (problems.length === 0 && t.lower > t.upper) {
    problems.push(`${what}: lower (${t.lower}) is above upper (${t.upper}); lower must not exceed upper.`);
  }
  return problems;
}

const pct = (v: number) => `${Math.max(0, Math.min(1, v)) * 100}%`;

/**
 * One track, two handles (lower / upper), the three bands in colour, and typed values.
 * Each handle is a native range input, so arrows, Page Up/Down, Home/End work from the keyboard.
 */
export function ThresholdSlider({
  id,
  value,
  onChange,
  label,
}: {
  id: string;
  value: Thresholds;
  onChange: (next: Thresholds) => void;
  label: string;
}) {
  const crossed = value.lower > value.upper;
  const set = (key: keyof Thresholds, raw: string) => {
    const number = raw === "" ? Number.NaN : Number(raw);
    onChange({ ...value, [key]: number });
  };
  const lowerEdge = Number.isFinite(value.lower) ? value.lower : 0;
  const upperEdge = Number.isFinite(value.upper) ? value.upper : 1;
  return (
    <fieldset class="thresholds" data-testid={`thresholds-${id}`}>
      <legend>{label}</legend>
      <div class={`dual-range${crossed ? " crossed" : ""}`}>
        <div class="bands" aria-hidden="true">
          <div class="band discarded" style={{ left: 0, width: pct(lowerEdge) }} />
          <div class="band review" style={{ left: pct(lowerEdge), width: pct(Math.max(0, upperEdge - lowerEdge)) }} />
          <div class="band approved" style={{ left: pct(upperEdge), width: pct(1 - upperEdge) }} />
        </div>
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={lowerEdge}
          aria-label={`${label}: lower threshold`}
          aria-valuetext={`lower ${lowerEdge}: below it predictions are discarded`}
          onInput={(e) => set("lower", (e.target as HTMLInputElement).value)}
        />
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={upperEdge}
          aria-label={`${label}: upper threshold`}
          aria-valuetext={`upper ${upperEdge}: from it predictions are approved`}
          onInput={(e) => set("upper", (e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="legend">
        <span class="key discarded">discarded &lt; {Number.isFinite(value.lower) ? value.lower : "?"}</span>
        <span class="key review">review</span>
        <span class="key approved">approved ≥ {Number.isFinite(value.upper) ? value.upper : "?"}</span>
      </div>
      <div class="typed">
        <label>
          Lower
          <input
            type="number"
            name={`${id}-lower`}
            min={0}
            max={1}
            step={0.01}
            value={Number.isFinite(value.lower) ? value.lower : ""}
            onInput={(e) => set("lower", (e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Upper
          <input
            type="number"
            name={`${id}-upper`}
            min={0}
            max={1}
            step={0.01}
            value={Number.isFinite(value.upper) ? value.upper : ""}
            onInput={(e) => set("upper", (e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
    </fieldset>
  );
}
