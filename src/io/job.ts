/**
 * Resumable output folders for long runs. A job writes into `<out>.partial/` (a stable name, so a
 * killed run can be resumed) and keeps `checkpoint.json` there; `commit()` renames the folder to
 * `<out>` atomically. Until then nothing exists at `<out>`: it is never half-written.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic, moveDirIntoPlace } from './atomic.js';
import { UserError } from './errors.js';

export interface JobOptions {
  /** replace an existing finished `<out>` */
  overwrite?: boolean;
  /** continue from `<out>.partial/checkpoint.json` if present */
  resume?: boolean;
}

export class JobDir<C extends object> {
  readonly target: string;
  readonly dir: string;
  /** the checkpoint found when resuming (undefined for a fresh start) */
  readonly resumed?: C;

  constructor(target: string, opts: JobOptions, identity: unknown) {
    this.target = resolve(target);
    this.dir = `${this.target}.partial`;
    if (existsSync(this.target) && !opts.overwrite) throw new UserError(`out: ${target} already exists (use --force to replace it)`);
    const ckFile = join(this.dir, 'checkpoint.json');
    const idText = JSON.stringify(identity);
    if (opts.resume && existsSync(ckFile)) {
      const ck = JSON.parse(readFileSync(ckFile, 'utf8')) as { identity: string; state: C };
      if (ck.identity !== idText) throw new UserError(`resume: ${this.dir} was started with a different configuration (remove it or drop --resume)`);
      this.resumed = ck.state;
    } else {
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(join(this.dir, 'checkpoint.json'), JSON.stringify({ identity: idText, state: null }));
    }
    this.identity = idText;
  }
  private readonly identity: string;

  path(name: string): string {
    const p = join(this.dir, name);
    mkdirSync(dirname(p), { recursive: true });
    return p;
  }

  /** Record progress; files named in the checkpoint must already be written (atomically). */
  checkpoint(state: C): void {
    writeFileAtomic(join(this.dir, 'checkpoint.json'), JSON.stringify({ identity: this.identity, state }));
  }

  /** Finish: drop the checkpoint and move the folder into place. */
  commit(): void {
    rmSync(join(this.dir, 'checkpoint.json'), { force: true });
    moveDirIntoPlace(this.dir, this.target);
  }
}
