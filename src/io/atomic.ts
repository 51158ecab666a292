/**
 * Atomic file and directory output.
 *
 * - `writeFileAtomic(path, data)`: write to a temporary file in the same directory, fsync it,
 *   rename it over `path`, fsync the directory. Readers see the old file or the new one, never a
 *   truncated file.
 * - `withAtomicDir(target, fn)`: `fn` fills `<target>.partial-<pid>`; on success the folder is
 *   renamed to `target`, on error it is removed and nothing exists at `target` (unless it existed
 *   before and `overwrite` was not requested, in which case it is untouched).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './errors.js';

let tmpCounter = 0;

/** fsync a directory so a rename inside it is durable (best effort: not supported everywhere). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms/filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write all of `data` to an open descriptor. */
function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
}

/** Atomically replace `path` with `data` (string is written as UTF-8). */
export function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): void {
  const dir = dirname(resolve(path));
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${tmpCounter++}`);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data];
  const fd = openSync(tmp, 'wx');
  try {
    try {
      for (const c of chunks) writeAll(fd, c);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
  fsyncDir(dir);
}

export interface AtomicDirOptions {
  /** replace an existing `target` (default false: an existing target is an error) */
  overwrite?: boolean;
}

/**
 * Build an output folder atomically: `fn(partialDir)` writes into `<target>.partial-<pid>`; on
 * success that folder is renamed to `target`. Any error removes the partial folder and rethrows.
 */
export async function withAtomicDir<T>(
  target: string,
  fn: (dir: string) => T | Promise<T>,
  opts: AtomicDirOptions = {},
): Promise<T> {
  const abs = resolve(target);
  if (existsSync(abs) && !opts.overwrite) throw new UserError(`out: ${target} already exists (choose another path or overwrite)`);
  mkdirSync(dirname(abs), { recursive: true });
  const partial = `${abs}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  let result: T;
  try {
    result = await fn(partial);
    moveDirIntoPlace(partial, abs);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  return result;
}

/** Rename the finished folder `partial` to `target`, replacing an existing `target`; durable. */
export function moveDirIntoPlace(partial: string, target: string): void {
  fsyncDir(partial);
  if (existsSync(target)) {
    const old = `${target}.old-${process.pid}`;
    renameSync(target, old);
    renameSync(partial, target);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(partial, target);
  }
  fsyncDir(dirname(target));
}
