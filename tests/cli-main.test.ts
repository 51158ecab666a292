import { describe, it, expect, vi, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { EXIT_OK, EXIT_USER, EXIT_INTERNAL } from '../src/cli/main.js';
import { runCli } from './helpers/cli.js';
import { globalOptions } from '../src/cli/common.js';
import { createProgress } from '../src/cli/progress.js';

const run = runCli;

afterEach(() => {
  delete process.env.NEQSPIN_ADAPTER;
});

describe('cli main', () => {
  it('--version and --help exit 0', async () => {
    expect((await run(['--version'])).code).toBe(EXIT_OK);
    const h = await run(['--help']);
    expect(h.code).toBe(EXIT_OK);
    expect(h.out).toMatch(/info/);
    expect(h.out).toMatch(/simulate/);
    expect(h.out).toMatch(/negf/);
  });

  it('user errors: one line `neqspin: ...` on stderr, exit 2', async () => {
    for (const argv of [['negf', '--config', 'x.json', '--out', 'r.json'], ['bogus'], ['info', '--nope']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT_USER);
      expect(r.err.startsWith('neqspin: '), r.err).toBe(true);
    }
    const r = await run(['simulate', '--config', 'does-not-exist.json']);
    expect(r.code).toBe(EXIT_USER);
    expect(r.err).toBe('neqspin: --config: does-not-exist.json does not exist\n');
  });

  it('unexpected errors (not UserError) exit 1 with `internal error`', async () => {
    const spy = vi.spyOn(Command.prototype, 'parseAsync').mockImplementation(() => Promise.reject(new TypeError('bug')));
    try {
      const r = await run(['info']);
      expect(r.code).toBe(EXIT_INTERNAL);
      expect(r.err).toMatch(/^neqspin: internal error: bug/);
    } finally {
      spy.mockRestore();
    }
  });

  it('global options: flags override the environment', () => {
    process.env.NEQSPIN_ADAPTER = 'envgpu';
    const p = new Command().option('--adapter <n>').option('--backend <n>').option('-q, --quiet');
    let seen: ReturnType<typeof globalOptions> | undefined;
    p.command('x').action((_o, cmd: Command) => {
      seen = globalOptions(cmd);
    });
    p.parse(['x'], { from: 'user' });
    expect(seen).toEqual({ adapter: 'envgpu', backend: undefined, quiet: false });
    p.parse(['--adapter', 'flag', '-q', 'x'], { from: 'user' });
    expect(seen).toEqual({ adapter: 'flag', backend: undefined, quiet: true });
  });

  it('info --json reports the adapter', async () => {
    const r = await run(['info', '--json']);
    expect(r.code, r.err).toBe(EXIT_OK);
    const j = JSON.parse(r.out);
    expect(typeof j.adapter.software).toBe('boolean');
    expect(j.adapter.limits.maxComputeWorkgroupSizeX).toBeGreaterThan(0);
  });

  it('bin/neqspin.js runs (dist build or on-the-fly dev bundle) with the same exit codes', () => {
    const r = spawnSync(process.execPath, ['bin/neqspin.js', 'negf', '--config', 'nope.json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(EXIT_USER);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(spawnSync(process.execPath, ['bin/neqspin.js', '--version'], { encoding: 'utf8' }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('progress', () => {
  function sink(isTTY: boolean) {
    const lines: string[] = [];
    const stream = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
      { isTTY },
    );
    return { stream, lines };
  }

  it('not a TTY: plain lines, rate-limited, plus a final line', () => {
    const { stream, lines } = sink(false);
    const p = createProgress({ total: 10, label: 'steps', stream, intervalMs: 60_000 });
    for (let k = 1; k <= 10; k++) p.update(k, `wall=${k}`);
    p.stop();
    p.stop();
    expect(lines).toHaveLength(2); // the first update, then the final line
    expect(lines[1]).toMatch(/^steps: 10\/10 \(100\.0%\).*wall=10\n$/);
  });

  it('quiet: nothing', () => {
    const { stream, lines } = sink(false);
    const p = createProgress({ total: 10, label: 'steps', stream, quiet: true, intervalMs: 0 });
    p.update(5);
    p.stop();
    expect(lines).toHaveLength(0);
  });
});
