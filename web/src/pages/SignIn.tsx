import { useEffect, useRef, useState } from "preact/hooks";
import type { AppConfig } from "../auth";

export function SignInPage({
  config,
  message,
  onToken,
  onCognito,
}: {
  config: AppConfig;
  message: string | null;
  onToken: (token: string) => Promise<void>;
  onCognito: () => Promise<void>;
}) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    document.title = "Sign in · autolabel";
    field.current?.focus();
  }, []);

  return (
    <main id="main" class="signin">
      <h1>Sign in to autolabel</h1>
      {message && (
        <p class="error" role="alert" data-testid="signin-message">
          {message}
        </p>
      )}
      {config.auth.kind === "token" ? (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            if (!token.trim()) return;
            setBusy(true);
            try {
              await onToken(token.trim());
            } catch {
              // The message is shown above.
            } finally {
              setBusy(false);
            }
          }}
        >
          <label for="token">Access token</label>
          <input
            id="token"
            ref={field}
            type="password"
            autocomplete="off"
            required
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
          <p class="hint">
            The token <code>autolabel user add NAME --role admin|reviewer</code> printed for you.
          </p>
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </form>
      ) : (
        <>
          <p>Sign in with your autolabel account (Cognito).</p>
          <button type="button" class="primary" onClick={() => void onCognito()}>
            Sign in
          </button>
        </>
      )}
    </main>
  );
}
