// The HTTP API's shapes (docs/openapi.json) and one client that sends the bearer token.

import type { components } from "./generated/openapi";

// Generated from docs/openapi.json by `make openapi` (openapi-typescript): when the document
// changes, tsc shows where the app must follow. Name the document's shapes here; never redeclare one.
type Schemas = components["schemas"];

export type Me = Schemas["Me"];
export type Role = Me["role"];
export type Thresholds = Schemas["ThresholdsView"];
export type Reviewer = Schemas["ReviewerView"];
export type TaskStatus = Schemas["TaskStatus"];
export type Task = Schemas["TaskView"];
export type TaskSummary = Schemas["TaskSummary"];
export type TaskDetail = Schemas["TaskDetail"];
export type TaskCreate = Schemas["TaskCreate"];
export type TaskUpdate = Schemas["TaskUpdate"];
export type RedriveReport = Schemas["RedriveReport"];
export type Rethreshold = Schemas["Rethreshold"];
export type Dataset = Schemas["DatasetView"];
export type ModelSpec = Schemas["ModelView"];
export type LabelType = Schemas["LabelType"];
export type Input = Schemas["InputView"];
export type InputsDelete = Schemas["InputsDelete"];
export type Deleted = Schemas["Deleted"];

export type BoxGeometry = Schemas["Box"];
export type PolygonGeometry = Schemas["Polygon"];
export type Geometry = Schemas["AnnotationView"]["geometry"];

export type AnnotationStatus = Schemas["AnnotationStatus"];
export const ANNOTATION_STATUSES: AnnotationStatus[] = [
  "SUCCESS", "AWAITING_REVIEW", "AWAITING_CONSENSUS_REVIEW", "PENDING", "REJECTED",
];

export type Labeler = Schemas["LabelerView"];
export type Annotation = Schemas["AnnotationView"];
export type AnnotationList = Schemas["AnnotationList"];
export type AnnotationsAdd = Schemas["AnnotationsAdd"];
export type AnnotationsDelete = Schemas["AnnotationsDelete"];
export type Count = Schemas["Count"];
export type BlobLink = Schemas["BlobLink"];

export type ReviewItem = Schemas["ReviewItemView"];
export type ReviewView = Schemas["ReviewView"];
export type NextItem = Schemas["NextItem"];
export type ReviewProgress = Schemas["ReviewProgress"];
export type Decided = Schemas["Decided"];
export type Choose = Schemas["Choose"];
export type EditIn = Schemas["EditIn"];
export type EditDecision = Schemas["EditDecision"];
export type DatasetVersion = Schemas["VersionView"];
export type Job = Schemas["JobView"];
export type ExportRequest = Schemas["ExportRequest"];
export type ErrorBody = Schemas["ErrorBody"];

/** One page of a list route (the document's TaskPage, AnnotationPage, ...: items plus the next cursor). */
export type Page<T> = Omit<Schemas["TaskPage"], "items"> & { items: T[] };

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

const JOB_POLL_MS = 500;

/** A running job's progress for people: "1,200 of 5,000" (or "1,200 so far" when the total is unknown). */
export function jobProgress(job: Job): string {
  const done = job.done.toLocaleString("en");
  return job.total === null ? `${done} so far` : `${done} of ${job.total.toLocaleString("en")}`;
}

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
      let payload: Partial<ErrorBody> = {};
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

  /**
   * Start a job (the route answers 202 with it) and poll `GET /jobs/{id}` until it ends,
   * telling `onProgress` each time; a failed job throws with its reason.
   */
  async job(method: string, path: string, body?: unknown, onProgress: (job: Job) => void = () => {}): Promise<Job> {
    let job = await this.request<Job>(method, path, body);
    while (job.state === "queued" || job.state === "running") {
      onProgress(job);
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      job = await this.get<Job>(`/jobs/${encodeURIComponent(job.id)}`);
    }
    if (job.state === "failed") throw new Error(`The ${job.kind.replace("_", " ")} job failed: ${job.failure_reason ?? "no reason given"}`);
    return job;
  }

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

  /** A short-lived URL of an input's image (presigned S3 on AWS, a signed link of `autolabel
   * serve` here): an <img src> cannot send the bearer token, and the bytes never pass the API. */
  async imageUrl(inputId: string): Promise<string> {
    const link = await this.get<BlobLink>(`/inputs/${encodeURIComponent(inputId)}/url`);
    return link.url;
  }
}

export const enc = encodeURIComponent;
