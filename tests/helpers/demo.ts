/** Resume check shared by the demo pipelines' tests (afm-fm and stt). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

type Run<C, M> = (out: string, c: C, o: { quiet?: boolean; resume?: boolean; haltAfterStage?: number }) => Promise<M | undefined>;

/**
 * Run `c` into `out`, halted after stage 1, resumed and halted after stage 2, resumed to the end:
 * no output folder while halted, a resumed run, and `physics` of its metrics equal to those of the
 * uninterrupted run's `reference/metrics.json` (after a JSON round trip: NaN → null there too).
 */
export async function expectResumeReproduces<C, M extends { timing: { resumed: boolean } }>(run: Run<C, M>, c: C, out: string, reference: string, physics: (m: M) => unknown): Promise<void> {
  const ref = JSON.parse(readFileSync(join(reference, 'metrics.json'), 'utf8')) as M;
  expect(await run(out, c, { quiet: true, haltAfterStage: 1 })).toBeUndefined();
  expect(existsSync(out)).toBe(false);
  expect(await run(out, c, { quiet: true, resume: true, haltAfterStage: 2 })).toBeUndefined();
  const m = (await run(out, c, { quiet: true, resume: true }))!;
  expect(m.timing.resumed).toBe(true);
  expect(physics(JSON.parse(JSON.stringify(m)))).toEqual(physics(ref));
}
