import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTables, writeSection } from '../src/bench/report.js';

const table = (title: string, v: number) => ({ title, columns: ['a'], rows: [[v]] });

describe('BENCHMARKS.md sections', () => {
  it('a full run replaces its device section and leaves other devices alone', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'bench-')), 'B.md');
    writeFileSync(f, '# title\n');
    writeSection(f, 'dev1', 'Device 1', 'Date 2026-01-01.\n\n' + renderTables([table('T1', 1), table('T2', 2)]));
    writeSection(f, 'dev2', 'Device 2', 'Date 2026-01-01.\n\n' + renderTables([table('T1', 5)]));
    writeSection(f, 'dev1', 'Device 1', 'Date 2026-01-02.\n\n' + renderTables([table('T1', 3)]));
    const text = readFileSync(f, 'utf8');
    expect(text.match(/## Device 1/g)).toHaveLength(1);
    expect(text).toContain('| 3 |');
    expect(text).not.toContain('### T2');
    expect(text).toContain('| 5 |');
  });

  it('a partial run replaces only its own tables and says which are older', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'bench-')), 'B.md');
    writeSection(f, 'dev', 'Device', 'Date 2026-01-01; x.\n\n' + renderTables([table('T1', 1), table('T2', 2), table('T3', 3)]));
    writeSection(f, 'dev', 'Device', 'Date 2026-01-02; y.\n\n' + renderTables([table('T2', 20)]), { merge: true });
    const text = readFileSync(f, 'utf8');
    const order = ['### T1', '### T2', '### T3'].map((t) => text.indexOf(t));
    expect(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]))).toBe(true);
    expect(text).toContain('| 20 |');
    expect(text).not.toContain('| 2 |');
    expect(text).toContain('| 1 |');
    expect(text).toMatch(/Date 2026-01-02; y\. Partial run: the tables "T1", "T3" are from an earlier run on this device \(Date 2026-01-01\)/);
    expect(text.match(/<!-- bench:dev:begin -->/g)).toHaveLength(1);
  });
});
