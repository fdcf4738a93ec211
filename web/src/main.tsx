import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Api, ApiError, describeError, type Me } from "./api";
import { SessionContext, navigate, useRoute, type Session } from "./app";
import {
  cognitoAuthorizeUrl,
  cognitoIdToken,
  cognitoLogoutUrl,
  completeCognitoSignIn,
  loadConfig,
  tokenStore,
  type AppConfig,
} from "./auth";
import { EditTaskPage } from "./pages/EditTask";
import { InputManagerPage } from "./pages/InputManager";
import { NewTaskPage } from "./pages/NewTask";
import { ReviewPage } from "./pages/Review";
import { SignInPage } from "./pages/SignIn";
import { TasksPage } from "./pages/Tasks";
import "./styles.css";

function makeApi(config: AppConfig): Api {
  const auth = config.auth;
  const token = auth.kind === "cognito" ? () => cognitoIdToken(auth) : async () => tokenStore.get();
  return new Api(config.apiBase, token);
}

function Routes({ session }: { session: Session }) {
  const route = useRoute();
  const admin = session.me.role === "admin";
  const [first, second, third] = route;
  if (first === "tasks" && second === "new") return admin ? <NewTaskPage /> : <NotAllowed what="create tasks" />;
  if (first === "tasks" && second && third === "edit") return admin ? <EditTaskPage taskId={second} /> : <NotAllowed what="edit tasks" />;
  if (first === "review" && second === "items" && third) return <ReviewPage itemId={third} key={`item-${third}`} />;
  if (first === "review" && second) return <ReviewPage taskId={second} key={`task-${second}`} />;
  if (first === "inputs") return admin ? <InputManagerPage /> : <NotAllowed what="use the input manager" />;
  return <TasksPage />;
}

function NotAllowed({ what }: { what: string }) {
  return (
    <main id="main" class="forbidden" tabIndex={-1}>
      <h1>403 — not allowed</h1>
      <p role="alert">Only admins may {what}.</p>
      <a href="#/tasks">Back to Labeling Tasks</a>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const admin = session.me.role === "admin";
  const current = (hash: string) => (`#/${route.join("/")}` === hash ? "page" : undefined);
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">autolabel</span>
        <nav aria-label="Main">
          <a href="#/tasks" aria-current={current("#/tasks") ?? (route.length === 0 ? "page" : undefined)}>Labeling Tasks</a>
          {admin && <a href="#/tasks/new" aria-current={current("#/tasks/new")}>New Labeling Task</a>}
          {admin && <a href="#/inputs" aria-current={current("#/inputs")}>Input Manager</a>}
        </nav>
        <span class="who" data-testid="who">
          {session.me.name} <span class="role">{session.me.role}</span>
        </span>
        <button type="button" class="link" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <Routes session={session} />
    </SessionContext.Provider>
  );
}

function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const api = useMemo(() => (config ? makeApi(config) : null), [config]);

  const signOut = (why?: string) => {
    tokenStore.clear();
    setMe(null);
    setMessage(why ?? null);
    if (!why && config?.auth.kind === "cognito") location.assign(cognitoLogoutUrl(config.auth));
  };

  useEffect(() => {
    (async () => {
      const loaded = await loadConfig();
      setConfig(loaded);
      if (loaded.auth.kind === "cognito") {
        const next = await completeCognitoSignIn(loaded.auth, location);
        if (next) navigate(next);
      }
      const client = makeApi(loaded);
      if (await (loaded.auth.kind === "cognito" ? cognitoIdToken(loaded.auth) : Promise.resolve(tokenStore.get()))) {
        try {
          setMe(await client.get<Me>("/me"));
        } catch (error) {
          tokenStore.clear();
          setMessage(describeError(error));
        }
      }
    })()
      .catch((error: unknown) => setMessage(describeError(error)))
      .finally(() => setReady(true));
  }, []);

  useEffect(() => {
    if (!api) return;
    api.onUnauthorized = (error: ApiError) => signOut(describeError(error));
  }, [api]);

  if (!ready) return <p class="loading">Loading…</p>;
  if (!config || !api) return <ErrorPage message={message ?? "The app could not start."} />;
  if (!me) {
    return (
      <SignInPage
        config={config}
        message={message}
        onToken={async (token) => {
          tokenStore.set(token);
          try {
            const found = await api.get<Me>("/me");
            setMessage(null);
            setMe(found);
          } catch (error) {
            tokenStore.clear();
            setMessage(describeError(error));
            throw error;
          }
        }}
        onCognito={async () => {
          if (config.auth.kind !== "cognito") return;
          location.assign(await cognitoAuthorizeUrl(config.auth, location.hash || "#/tasks"));
        }}
      />
    );
  }
  return <Shell session={{ api, me, config, signOut }} />;
}

function ErrorPage({ message }: { message: string }) {
  return (
    <main id="main" class="signin">
      <h1>autolabel</h1>
      <p role="alert" class="error">{message}</p>
    </main>
  );
}

render(<App />, document.getElementById("app") as HTMLElement);
