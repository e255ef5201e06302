/**
 * Exactly one worker per trial, with nothing but MLflow in common (a sweep's children, Kubernetes pods of an Indexed
 * Job, a pod rescheduled while the old one still runs). MLflow has no compare-and-swap, so a claim is built from
 * writes that never overwrite each other and reads after a delay:
 *
 *   - each worker writes its own experiment tag `ganstudy.claim.<trialId>.<workerId>` = `<state> <ms> <host> <pid>`
 *     (state `pending` or `held`); a claim is live while its heartbeat is younger than `staleMs` and, on this host,
 *     while its process exists (a SIGKILLed worker's claim is taken over at once on the same machine);
 *   - to claim: give up if another live `held` claim exists; write `pending`; wait `settleMs`; read all claims:
 *     another live `held`, or a live `pending` with a smaller worker id, wins (back off); otherwise write `held`,
 *     wait `settleMs` again and read once more: of two `held` claims the smaller worker id keeps it.
 *
 * Why it is safe: every write that started before a read is visible to a read `settleMs` later (loopback and LAN
 * writes take milliseconds; `settleMs` is seconds). Two workers that both wrote `pending` both see both claims
 * after the delay and agree on the smaller id. A late worker whose `pending` landed after an earlier worker's read
 * sees that worker's `held` (written right after its read) by its own read `settleMs` later. The second read after
 * `held` catches the remaining case (a write slower than `settleMs`): both then see both `held` claims and agree.
 * The holder refreshes its heartbeat every `heartbeatMs`; evaluation blocks the event loop, so `staleMs` is long
 * (15 heartbeats) and a stale claim on another host means its worker is gone, not busy.
 *
 * The experiment (not the trial's run) holds claims because the run may not exist yet: creating it is part of
 * what the claim makes exclusive.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import type { Tracker } from './types.js';

export const CLAIM_TAG_PREFIX = 'ganstudy.claim.';
export const ClaimStateSchema = z.enum(['pending', 'held']);
export type ClaimState = z.infer<typeof ClaimStateSchema>;

export interface Claim {
  worker: string;
  state: ClaimState;
  /** heartbeat, ms since epoch (the worker's clock) */
  at: number;
  host: string;
  pid: number;
}

export interface ClaimTiming {
  heartbeatMs: number;
  staleMs: number;
  settleMs: number;
}

/** GANSTUDY_CLAIM_HEARTBEAT_S (default 60 s) sets the heartbeat; stale after 15 heartbeats; settle 2 s or less */
export function claimTiming(): ClaimTiming {
  const s = Number(process.env.GANSTUDY_CLAIM_HEARTBEAT_S ?? '');
  const heartbeatMs = Number.isFinite(s) && s > 0 ? s * 1000 : 60_000;
  return { heartbeatMs, staleMs: 15 * heartbeatMs, settleMs: Math.min(2_000, Math.max(500, heartbeatMs / 2)) };
}

const HOST = os.hostname().replace(/\s+/g, '_');

function tagKey(trialId: string, worker: string): string {
  return `${CLAIM_TAG_PREFIX}${trialId}.${worker}`;
}

function parseClaims(tags: Record<string, string>, trialId: string): Claim[] {
  const prefix = `${CLAIM_TAG_PREFIX}${trialId}.`;
  const out: Claim[] = [];
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(prefix)) continue;
    const [state, at, host, pid] = value.split(' ');
    const st = ClaimStateSchema.safeParse(state);
    if (!st.success || !Number.isFinite(Number(at))) continue;
    out.push({ worker: key.slice(prefix.length), state: st.data, at: Number(at), host: host ?? '', pid: Number(pid) });
  }
  return out;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isLive(c: Claim, timing: ClaimTiming, now = Date.now()): boolean {
  if (now - c.at > timing.staleMs) return false;
  if (c.host === HOST && Number.isInteger(c.pid) && c.pid > 0 && c.pid !== process.pid) return processExists(c.pid);
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type ClaimResult = { won: true } | { won: false; holder: Claim };

/** One worker's claim on one trial. */
export class TrialClaim {
  readonly worker = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly tracker: Tracker,
    private readonly experimentId: string,
    readonly trialId: string,
    readonly timing: ClaimTiming = claimTiming(),
  ) {}

  private async write(state: ClaimState): Promise<void> {
    const value = `${state} ${Date.now()} ${HOST} ${process.pid}`;
    await this.tracker.setExperimentTag(this.experimentId, tagKey(this.trialId, this.worker), value);
  }

  /** the live claims of other workers */
  async others(): Promise<Claim[]> {
    const tags = await this.tracker.getExperimentTags(this.experimentId);
    return parseClaims(tags, this.trialId).filter((c) => c.worker !== this.worker && isLive(c, this.timing));
  }

  /** tries once (a few seconds); on success the heartbeat runs until release() */
  async acquire(): Promise<ClaimResult> {
    const before = (await this.others()).find((c) => c.state === 'held');
    if (before) return { won: false, holder: before };
    await this.write('pending');
    await sleep(this.timing.settleMs);
    // another live held claim goes first, and of two pending claims the smaller worker id
    const others = await this.others();
    const rival = others.find((c) => c.state === 'held') ?? others.find((c) => c.worker < this.worker);
    if (rival) return this.backOff(rival);
    await this.write('held');
    await sleep(this.timing.settleMs);
    // two held claims (a write slower than settleMs): both see both, the smaller worker id keeps it
    const late = (await this.others()).find((c) => c.state === 'held' && c.worker < this.worker);
    if (late) return this.backOff(late);
    this.timer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
    this.timer.unref();
    await this.removeDead();
    return { won: true };
  }

  /** claims of workers that are gone (a SIGKILLed process, a lost pod) would otherwise stay on the experiment */
  private async removeDead(): Promise<void> {
    const tags = await this.tracker.getExperimentTags(this.experimentId);
    for (const c of parseClaims(tags, this.trialId)) {
      if (c.worker !== this.worker && !isLive(c, this.timing)) {
        await this.tracker.deleteExperimentTag(this.experimentId, tagKey(this.trialId, c.worker));
      }
    }
  }

  private async backOff(holder: Claim): Promise<ClaimResult> {
    await this.remove();
    return { won: false, holder };
  }

  private beat(): Promise<void> {
    // a heartbeat still retrying an unreachable server must not stack up
    if (this.beating) return this.beating;
    this.beating = this.write('held')
      .catch(() => {
        // the next heartbeat tries again; a claim that goes stale meanwhile is what staleMs is for
      })
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private async remove(): Promise<void> {
    await this.tracker.deleteExperimentTag(this.experimentId, tagKey(this.trialId, this.worker));
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // a heartbeat in flight (slow or retried) would write the claim back after the removal
    await this.beating;
    await this.remove();
  }
}
