// The HTTP API's shapes (docs/openapi.json) and one client that sends the bearer token.

export type Role = "admin" | "reviewer";
export interface Me { name: string; role: Role }
export interface Thresholds { upper: number; lower: number }
export interface Reviewer { name: string; weight: number }
export type TaskStatus = "Pending" | "In progress" | "Complete" | "Failed";

export interface Task {
  id: string;
  name: string;
  dataset_id: string;
  model_id: string;
  model_version: string;
  concepts: string[];
  thresholds: Thresholds;
  concept_thresholds: Record<string, Thresholds>;
  reviewers: Reviewer[];
  auto_annotate: boolean;
  status: TaskStatus;
  failure_reason: string | null;
}

export interface TaskSummary {
  task_id: string;
  name: string;
  status: TaskStatus;
  failure_reason: string | null;
  model: string;
  dataset: string;
  concepts: string[];
  inputs_total: number;
  inputs_done: number;
  inputs_failed: number;
  inputs_pending: number;
  predictions_approved: number;
  predictions_awaiting_review: number;
  predictions_discarded: number;
  review_items: number;
  review_items_decided: number;
  percent_reviewed: number;
  labeled_by: Record<string, number>;
  queue_depth: Record<string, number>;
}

export interface TaskDetail { task: Task; summary: TaskSummary }
export interface Dataset { id: string; name: string }
export interface ModelSpec { id: string; version: string; kind: string; description: string; labels: string[]; label_type: string }
export interface Input { id: string; dataset_id: string; kind: string; blob_key: string; source: string; size_bytes: number }

export interface BoxGeometry { type: "box"; x: number; y: number; w: number; h: number }
export interface PolygonGeometry { type: "polygon"; points: [number, number][] }
export type Geometry = BoxGeometry | PolygonGeometry | { type: "classification" } | { type: "text"; start: number; end: number };

export type AnnotationStatus = "SUCCESS" | "AWAITING_REVIEW" | "AWAITING_CONSENSUS_REVIEW" | "PENDING" | "REJECTED";
export const ANNOTATION_STATUSES: AnnotationStatus[] = [
  "SUCCESS", "AWAITING_REVIEW", "AWAITING_CONSENSUS_REVIEW", "PENDING", "REJECTED",
];

export interface Labeler { kind: "model" | "reviewer"; id: string; version: string | null }
export interface Annotation {
  id: string;
  task_id: string;
  input_id: string;
  concept: string;
  geometry: Geometry;
  status: AnnotationStatus;
  labeled_by: Labeler;
  score: number | null;
  prediction_id: string | null;
}

export interface ReviewItem {
  id: string; task_id: string; input_id: string; reviewer: string; sequence: number;
  prediction_ids: string[]; state: "PENDING" | "DECIDED"; decision: string | null; decided_by: string | null;
}
export interface ReviewView { item: ReviewItem; input: Input; flagged: Annotation[]; approved: Annotation[]; remaining: number }
export interface ReviewProgress { task_id: string; reviewer: string; total: number; pending: number; decided: number }
export interface Decided { item_id: string; decision: string; annotations: Annotation[] }
export interface DatasetVersion { task_id: string; number: number; annotations: number; inputs: number }
export interface Page<T> { items: T[]; cursor: string | null }

export interface EditIn { prediction_id: string; concept?: string; box?: BoxGeometry }

export function labelerName(labeler: Labeler): string {
  return labeler.kind === "model" ? `${labeler.id}@${labeler.version}` : labeler.id;
}

/** An API error with the server's own message ({error, message, details}). */
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details: Record<string, unknown> = {}) {
    super(message);
  }
}

/** What a person should read for an error: the server's message, said plainly per status. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.status) {
      case 401: return `Your sign-in has expired or the token is not valid (${error.message}). Sign in again.`;
      case 403: return `Not allowed: ${error.message}`;
      case 404: return `Not found: ${error.message}`;
      case 409: return `Conflict: ${error.message}`;
      case 413: return `Too large: ${error.message}`;
      default: return error.message;
    }
  }
  if (error instanceof TypeError) return `Cannot reach the API (${error.message}). Is the server running?`;
  return error instanceof Error ? error.message : String(error);
}

type TokenSource = () => Promise<string | null>;

export class Api {
  /** Called once per 401, so the app can send the person back to sign-in. */
  onUnauthorized: (error: ApiError) => void = () => {};

  constructor(private base: string, private token: TokenSource) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = await this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let payload: { error?: string; message?: string; details?: Record<string, unknown> } = {};
      try {
        payload = await response.json();
      } catch {
        // Not JSON (a proxy's page): keep the status line.
      }
      const error = new ApiError(
        response.status,
        payload.error ?? "http_error",
        payload.message ?? `${response.status} ${response.statusText}`,
        payload.details ?? {},
      );
      if (response.status === 401) this.onUnauthorized(error);
      throw error;
    }
    return response;
  }

  get<T>(path: string): Promise<T> { return this.request<T>("GET", path); }
  post<T>(path: string, body: unknown = {}): Promise<T> { return this.request<T>("POST", path, body); }
  patch<T>(path: string, body: unknown): Promise<T> { return this.request<T>("PATCH", path, body); }
  delete<T>(path: string): Promise<T> { return this.request<T>("DELETE", path); }

  /** Every page of a list. */
  async all<T>(path: string): Promise<T[]> {
    const found: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page: Page<T> = await this.get<Page<T>>(
        `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      found.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return found;
  }

  /** An input's image as a blob: URL (an <img src> cannot send the bearer token). */
  async imageUrl(inputId: string): Promise<string> {
    const response = await this.send("GET", `/inputs/${encodeURIComponent(inputId)}/content`);
    return URL.createObjectURL(await response.blob());
  }
}

export const enc = encodeURIComponent;
