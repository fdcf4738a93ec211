// Generated from docs/openapi.json by `make openapi` (autolabel.api.openapi): do not edit.
// The rules the API checks names by (domain/names.py), so a form can say what is wrong first.

export interface NameRule { pattern: RegExp; description: string }

export const CONCEPT_NAME: NameRule = {
  pattern: new RegExp("^[^\\x00-\\x1f\\x7f]{1,128}$"),
  description: "A concept is 1 to 128 characters, none of them control characters",
};

export const DATASET_NAME: NameRule = {
  pattern: new RegExp("^[A-Za-z0-9][A-Za-z0-9 _.@()+-]{0,127}$"),
  description: "A dataset name is 1 to 128 letters, digits, spaces and _ . @ ( ) + -, starting with a letter or digit",
};

export const PERSON_NAME: NameRule = {
  pattern: new RegExp("^[A-Za-z0-9_.@-]{1,64}$"),
  description: "A user or reviewer name is 1 to 64 letters, digits and _ . @ -",
};

export const TASK_NAME: NameRule = {
  pattern: new RegExp("^[A-Za-z0-9][A-Za-z0-9 _.@()+-]{0,127}$"),
  description: "A task name is 1 to 128 letters, digits, spaces and _ . @ ( ) + -, starting with a letter or digit",
};
