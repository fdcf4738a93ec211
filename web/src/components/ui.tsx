import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError, describeError } from "../api";

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div class="error" role="alert" data-status={status}>
      {describeError(error)}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const clamped = Math.max(0, Math.min(100, value));
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(clamped)} aria-label={label}>
      <div class="progress-fill" style={{ width: `${clamped}%` }} />
    </div>
  );
}

/** A modal dialog on the native <dialog> element: focus is trapped and Escape closes it. */
export function Dialog({
  title,
  open,
  onClose,
  children,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-label={title} onClose={onClose} onCancel={onClose}>
      <h2>{title}</h2>
      {open && children}
    </dialog>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · autolabel`;
  }, [title]);
  return (
    <main id="main" tabIndex={-1}>
      <div class="page-head">
        <h1>{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {children}
    </main>
  );
}

/** A form's reasons it cannot be submitted yet (announced politely), then Submit and Cancel.
 *  Submit stays disabled while there is a reason, so a bad form never reaches the API. */
export function FormFooter({ problems, intro, submitLabel, busy }: { problems: string[]; intro?: string; submitLabel: string; busy: boolean }) {
  return (
    <>
      {problems.length > 0 && (
        <div class="problems" role="status" aria-live="polite" data-testid="form-problems">
          {intro && <p>{intro}</p>}
          <ul>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy || problems.length > 0}>
          {submitLabel}
        </button>
        <a class="button" href="#/tasks">
          Cancel
        </a>
      </div>
    </>
  );
}
