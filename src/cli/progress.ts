/**
 * Progress reporting on stderr. On a TTY: a cli-progress bar. Not a TTY (logs, CI, pipes): a
 * plain line at most every `intervalMs` plus a final line. `quiet`: nothing.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** set the current value (0..total); `info` is shown after the counters */
  update(value: number, info?: string): void;
  /** final report and cleanup; safe to call twice */
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  label: string;
  quiet?: boolean;
  /** default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** plain mode: minimum time between lines, default 10 s */
  intervalMs?: number;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: `${opts.label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {info}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, 0, { info: '' });
    let stopped = false;
    return {
      update: (v, info = '') => bar.update(v, { info }),
      stop: () => {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }
  const interval = opts.intervalMs ?? 10_000;
  const t0 = Date.now();
  let last = -Infinity;
  let value = 0;
  let lastInfo = '';
  let stopped = false;
  const line = () => {
    const el = (Date.now() - t0) / 1000;
    const pct = opts.total > 0 ? (100 * value) / opts.total : 100;
    const rest = value > 0 ? (el * (opts.total - value)) / value : NaN;
    stream.write(`${opts.label}: ${value}/${opts.total} (${pct.toFixed(1)}%) elapsed ${eta(el)} eta ${eta(rest)}${lastInfo ? ' ' + lastInfo : ''}\n`);
  };
  return {
    update(v, info = '') {
      value = v;
      lastInfo = info;
      const now = Date.now();
      if (now - last >= interval) {
        last = now;
        line();
      }
    },
    stop() {
      if (!stopped) line();
      stopped = true;
    },
  };
}
