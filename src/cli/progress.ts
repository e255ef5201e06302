/**
 * The training progress line: `step 120/400 (30%) d=0.693 g=1.21 | 3.4 it/s | ETA 1m22s`.
 * On a TTY one line is rewritten in place (\r, erase to end of line); elsewhere (CI logs, pipes, files) every
 * progress event is its own line, so logs stay readable. Checkpoints, sample grids and divergence get their
 * own lines in both modes.
 */
import type { TrainEvent } from '../train/types.js';
import type { Losses } from '../models/types.js';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** 0.693, 1.21, 1.23e-5, -12.3: three significant digits, exponent only when needed */
export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4)) return v.toExponential(2).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** 45s, 1m22s, 2h03m; '?' when unknown */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(stepsPerSec: number): string {
  if (!Number.isFinite(stepsPerSec)) return '?';
  return stepsPerSec >= 1 ? stepsPerSec.toFixed(1) : stepsPerSec.toPrecision(2);
}

function formatLosses(losses: Losses): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k}=${formatLoss(v)}`)
    .join(' ');
}

export function formatProgress(e: Extract<TrainEvent, { type: 'progress' }>): string {
  const pct = e.totalSteps > 0 ? Math.floor((100 * e.step) / e.totalSteps) : 100;
  const losses = formatLosses(e.losses);
  return `step ${e.step}/${e.totalSteps} (${pct}%)${losses ? ` ${losses}` : ''} | ${formatRate(e.stepsPerSec)} it/s | ETA ${formatDuration(e.etaSec)}`;
}

/** A TrainEvent listener that renders to `stream` (default stderr, keeping stdout for results). */
export function createProgressLine(stream: ProgressStream = process.stderr): (event: TrainEvent) => void {
  const tty = stream.isTTY === true;
  let open = false; // a TTY line is being rewritten and has no newline yet
  const line = (text: string): void => {
    if (open) stream.write('\n');
    open = false;
    stream.write(`${text}\n`);
  };
  return (event) => {
    switch (event.type) {
      case 'start':
        line(
          event.resumedFrom !== null
            ? `resuming from step ${event.resumedFrom} of ${event.totalSteps}`
            : `training ${event.totalSteps} steps`,
        );
        break;
      case 'progress':
        if (tty) {
          stream.write(`\r${formatProgress(event)}\x1b[K`);
          open = true;
          if (event.step >= event.totalSteps) {
            stream.write('\n');
            open = false;
          }
        } else {
          stream.write(`${formatProgress(event)}\n`);
        }
        break;
      case 'checkpoint':
        // on a TTY the progress line already moves; a line per checkpoint would push it around
        if (!tty) line(`checkpoint step ${event.step} → ${event.dir}`);
        break;
      case 'samples':
        if (!tty) line(`samples step ${event.step} → ${event.path}`);
        break;
      case 'diverged':
        line(`DIVERGED at step ${event.step}: ${formatLosses(event.losses)}`);
        break;
    }
  };
}
