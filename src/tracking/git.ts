import { execFileSync } from 'node:child_process';

/** HEAD's commit for the `mlflow.source.git.commit` tag; GANSTUDY_GIT_COMMIT wins (containers without .git). */
export function gitCommit(cwd: string = process.cwd()): string | undefined {
  if (process.env.GANSTUDY_GIT_COMMIT) return process.env.GANSTUDY_GIT_COMMIT;
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
