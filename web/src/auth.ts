// Sign-in. Embedded: the person pastes the token `autolabel user add` printed. AWS: OAuth2
// authorization code with PKCE against the Cognito hosted UI (a public client, no secret); the
// API's JWT authorizer expects the ID token (its audience is the client id).

export interface TokenAuthConfig { kind: "token" }
export interface CognitoAuthConfig {
  kind: "cognito";
  domain: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
}
export interface AppConfig { apiBase: string; auth: TokenAuthConfig | CognitoAuthConfig }

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch("config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json: ${response.status} ${response.statusText}`);
  const config = (await response.json()) as AppConfig;
  if (typeof config.apiBase !== "string" || !config.auth || !["token", "cognito"].includes(config.auth.kind)) {
    throw new Error("config.json needs apiBase and auth.kind 'token' or 'cognito'");
  }
  config.apiBase = config.apiBase.replace(/\/+$/, "");
  return config;
}

const TOKEN_KEY = "autolabel.token";
const COGNITO_KEY = "autolabel.cognito";
const PKCE_KEY = "autolabel.pkce";

// Session storage: the token lives as long as the tab, and is not shared with other tabs' sessions.
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(COGNITO_KEY);
  },
};

// ------------------------------------------------------------------ PKCE (RFC 7636)

export function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

interface CognitoTokens { idToken: string; refreshToken: string | null; expiresAt: number }

/** Where the browser goes to sign in; the verifier and state wait in session storage. */
export async function cognitoAuthorizeUrl(config: CognitoAuthConfig, returnTo: string): Promise<string> {
  const verifier = randomString(48); // 64 characters, within RFC 7636's 43–128
  const state = randomString(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scopes.join(" "),
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
  });
  return `${config.domain.replace(/\/+$/, "")}/oauth2/authorize?${query}`;
}

async function tokenRequest(config: CognitoAuthConfig, form: Record<string, string>): Promise<CognitoTokens> {
  const response = await fetch(`${config.domain.replace(/\/+$/, "")}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.clientId, ...form }),
  });
  const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof payload.id_token !== "string") {
    const reason = payload.error_description ?? payload.error ?? `${response.status} ${response.statusText}`;
    throw new Error(`sign-in failed at the token endpoint: ${String(reason)}`);
  }
  const expiresIn = typeof payload.expires_in === "number" ? payload.expires_in : 3600;
  const tokens: CognitoTokens = {
    idToken: payload.id_token,
    refreshToken: typeof payload.refresh_token === "string" ? payload.refresh_token : (form.refresh_token ?? null),
    expiresAt: Date.now() + expiresIn * 1000,
  };
  sessionStorage.setItem(COGNITO_KEY, JSON.stringify(tokens));
  return tokens;
}

/**
 * Finish a sign-in if the hosted UI just sent the browser back with ?code=&state=.
 * Returns the hash route to show next, or null when this page load is not a sign-in return.
 */
export async function completeCognitoSignIn(config: CognitoAuthConfig, location: Location): Promise<string | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return null;
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null") as
    | { verifier: string; state: string; returnTo: string }
    | null;
  sessionStorage.removeItem(PKCE_KEY);
  // The code is single-use and the URL would leak it into history: drop the query now.
  history.replaceState(null, "", location.pathname + location.hash);
  if (error) throw new Error(`sign-in was refused: ${params.get("error_description") ?? error}`);
  if (!pending || params.get("state") !== pending.state) {
    throw new Error("sign-in answer does not match a sign-in started here (state mismatch); try again");
  }
  await tokenRequest(config, {
    grant_type: "authorization_code",
    code: code as string,
    redirect_uri: config.redirectUri,
    code_verifier: pending.verifier,
  });
  return pending.returnTo || "#/tasks";
}

/** The ID token, refreshed with the refresh token a minute before it expires. */
export async function cognitoIdToken(config: CognitoAuthConfig): Promise<string | null> {
  const stored = JSON.parse(sessionStorage.getItem(COGNITO_KEY) ?? "null") as CognitoTokens | null;
  if (!stored) return null;
  if (stored.expiresAt - Date.now() > 60_000) return stored.idToken;
  if (!stored.refreshToken) return stored.idToken; // the API will say it expired
  try {
    return (await tokenRequest(config, { grant_type: "refresh_token", refresh_token: stored.refreshToken })).idToken;
  } catch {
    return stored.idToken;
  }
}

export function cognitoLogoutUrl(config: CognitoAuthConfig): string {
  const query = new URLSearchParams({ client_id: config.clientId, logout_uri: config.redirectUri });
  return `${config.domain.replace(/\/+$/, "")}/logout?${query}`;
}
