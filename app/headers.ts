/**
 * Request header fields as the app sees them: lower-cased names, every field kept in arrival
 * order. Servers hand over the flat [name, value, name, value, …] list they already have and
 * the names are lower-cased only when an app first looks, so a route that never reads a header
 * pays nothing for it.
 */
export class RequestHeaders implements Iterable<[string, string]> {
  #list: string[];
  #lowered: boolean;

  /**
   * @param list flat [name, value, …] pairs as received.
   * @param lowered true when the names are already lower-case (uWS gives them so).
   */
  constructor(list: string[], lowered = false) {
    this.#list = list;
    this.#lowered = lowered;
  }

  /** Build from a plain object (for tests and tools); array values become repeated fields. */
  static from(init: Record<string, string | readonly string[]> | Iterable<readonly [string, string]> = {}): RequestHeaders {
    const list: string[] = [];
    const pairs: Iterable<readonly [string, string | readonly string[]]> =
      Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
    for (const [name, value] of pairs) {
      if (typeof value === 'string') list.push(name, value);
      else for (const v of value) list.push(name, v);
    }
    return new RequestHeaders(list);
  }

  #names(): string[] {
    if (!this.#lowered) {
      const list = this.#list;
      for (let i = 0; i < list.length; i += 2) list[i] = list[i]!.toLowerCase();
      this.#lowered = true;
    }
    return this.#list;
  }

  /**
   * The field's value; repeated fields are joined with ", " (RFC 9110 §5.3), or "; " for Cookie.
   * `name` must be lower-case.
   */
  get(name: string): string | undefined {
    // The hot lookup (Authorization on every request) compares in place instead of lower-casing
    // every name first: only a name of the right length is ever lower-cased.
    const list = this.#list;
    const lowered = this.#lowered;
    const length = name.length;
    let found: string | undefined;
    for (let i = 0; i < list.length; i += 2) {
      const field = list[i]!;
      if (field.length === length && (lowered ? field === name : field.toLowerCase() === name)) {
        found = found === undefined ? list[i + 1]! : found + (name === 'cookie' ? '; ' : ', ') + list[i + 1]!;
      }
    }
    return found;
  }

  /** Every value of a field, one per line it arrived on. `name` must be lower-case. */
  getAll(name: string): string[] {
    const list = this.#names();
    const out: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]!);
    return out;
  }

  /** Whether the field is present. `name` must be lower-case. */
  has(name: string): boolean {
    const list = this.#names();
    for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
    return false;
  }

  /** Number of fields (a repeated name counts once per line). */
  get size(): number {
    return this.#list.length >> 1;
  }

  /** Every [name, value] pair in arrival order. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    const list = this.#names();
    for (let i = 0; i < list.length; i += 2) yield [list[i]!, list[i + 1]!];
  }

  /** The flat [name, value, …] list with lower-cased names (for proxies that forward headers). */
  flat(): readonly string[] {
    return this.#names();
  }
}
