/**
 * The dev server's change watcher: one watch per DIRECTORY, never per file. Editors and `sed -i`
 * save by writing a new file and renaming it over the old one; a watch on the old file's inode
 * (which Node's recursive fs.watch sets on Linux) goes deaf after the first such save. A
 * directory's watch reports every name that appears, changes or is renamed into it, however the
 * file was written. New subdirectories are watched as they appear.
 */
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join, relative } from 'node:path';

/** Directories never watched: dependencies, VCS data, build output. */
const SKIPPED = new Set(['node_modules', '.git', 'dist']);

/** A set of directory watches over trees; close() ends them all. */
export class TreeWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onChange: (path: string) => void;
  #closed = false;

  /**
   * @param roots directories to watch, with everything below them.
   * @param onChange called with the path (relative to the working directory) of every entry that
   *   appears, changes or disappears.
   */
  constructor(roots: readonly string[], onChange: (path: string) => void) {
    this.#onChange = onChange;
    for (const root of roots) this.#add(root);
  }

  #add(dir: string): void {
    if (this.#closed || this.#watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => this.#changed(dir, name === null ? null : String(name)));
    } catch {
      return; // gone already, or unreadable: nothing to watch
    }
    // A watched directory that is removed ends its watch with an error: forget it.
    watcher.on('error', () => this.#remove(dir));
    this.#watchers.set(dir, watcher);
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !SKIPPED.has(entry.name))
        .map((entry) => entry.name);
    } catch {
      entries = [];
    }
    for (const name of entries) this.#add(join(dir, name));
  }

  #remove(dir: string): void {
    this.#watchers.get(dir)?.close();
    this.#watchers.delete(dir);
  }

  #changed(dir: string, name: string | null): void {
    if (this.#closed || name === null) return;
    const path = join(dir, name);
    if (!SKIPPED.has(name) && !this.#watchers.has(path)) {
      try {
        if (statSync(path).isDirectory()) this.#add(path);
      } catch {
        // removed again already
      }
    }
    this.#onChange(relative('.', path) || path);
  }

  /** Directories watched now (tests). */
  get size(): number {
    return this.#watchers.size;
  }

  close(): void {
    this.#closed = true;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
