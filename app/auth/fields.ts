/**
 * DRF serializer validation for the token views' fields, which are all CharFields: the same
 * checks in the same order with the same messages, so a client that shows DRF's per-field
 * errors shows ours unchanged. A CharField accepts a string or a number (turned into its
 * text), trims surrounding whitespace, and refuses blank values, null, other types, NUL
 * characters and lone surrogates.
 */

/** One CharField. */
export interface CharField {
  readonly name: string;
  /** Strip surrounding whitespace before validating (DRF's trim_whitespace, default true). */
  readonly trim?: boolean;
  /** Longest accepted value, in characters. */
  readonly maxLength?: number;
}

/** Validated values by field name, or DRF's error body. */
export type FieldsResult = { ok: true; values: Record<string, string> } | { ok: false; errors: Record<string, string[]> };

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Validate `data` (parsed request data; `typeName` is Python's name for its type) against
 * `fields`, as a DRF Serializer with those CharFields would.
 */
export function validateCharFields(data: unknown, typeName: string, fields: readonly CharField[]): FieldsResult {
  if (data === null) return { ok: false, errors: { non_field_errors: ['No data provided'] } };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${typeName}.`] } };
  }
  const record = data as Record<string, unknown>;
  const values: Record<string, string> = {};
  const errors: Record<string, string[]> = {};
  let failed = false;
  for (const field of fields) {
    const result = validateCharField(Object.hasOwn(record, field.name) ? record[field.name] : undefined, field);
    if (typeof result === 'string') values[field.name] = result;
    else {
      errors[field.name] = result;
      failed = true;
    }
  }
  return failed ? { ok: false, errors } : { ok: true, values };
}

/** The cleaned value, or the list of error messages. `value` undefined means "not sent". */
export function validateCharField(value: unknown, field: CharField): string | string[] {
  if (value === undefined) return ['This field is required.'];
  if (value === null) return ['This field may not be null.'];
  const trim = field.trim ?? true;
  if (typeof value === 'string' && (value === '' || (trim && value.trim() === ''))) return ['This field may not be blank.'];
  if (typeof value !== 'string' && (typeof value !== 'number' || !Number.isFinite(value))) return ['Not a valid string.'];
  const text = trim ? String(value).trim() : String(value);
  const errors: string[] = [];
  if (field.maxLength !== undefined && text.length > field.maxLength) {
    errors.push(`Ensure this field has no more than ${field.maxLength} characters.`);
  }
  if (text.includes('\0')) errors.push('Null characters are not allowed.');
  const surrogate = LONE_SURROGATE.exec(text);
  if (surrogate !== null) {
    errors.push(`Surrogate characters are not allowed: U+${surrogate[0].charCodeAt(0).toString(16).toUpperCase()}.`);
  }
  return errors.length > 0 ? errors : text;
}
