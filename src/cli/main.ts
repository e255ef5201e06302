#!/usr/bin/env node
/**
 * ganstudy's one command-line entry. Each subcommand lives in src/cli/commands/<name>.ts and exports
 * `run(argv): Promise<number>` (the exit code); this file only dispatches, so that a command's
 * heavy imports (TensorFlow, sharp, vega) load only when that command runs. Failures are printed here, once:
 * a user's mistake as one line, a bug with its stack (errors.ts).
 */
import { closestFlag } from './args.js';
import { reportFailure, verboseRequested } from './errors.js';

const COMMANDS = {
  doctor: 'print the TensorFlow backend in use as JSON',
  train: 'train one model on one dataset outside any sweep',
  sweep: 'run every trial of a sweep file (resumable)',
  trial: 'run exactly one trial of a sweep file (--index i)',
  evaluate: 'score a folder of images (Inception score, MS-SSIM diversity, FID/KID, critic)',
  plots: 'regenerate results/<sweep>/ figures and tables from the tracking store',
} as const;

type CommandName = keyof typeof COMMANDS;

interface CommandModule {
  run(argv: string[]): Promise<number>;
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, what]) => `  ${name.padEnd(10)} ${what}`);
  return (
    `usage: ganstudy <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `ganstudy <command> --help for a command's options; --verbose on any command adds details and stack traces.`
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (!(name in COMMANDS)) {
    const near = closestFlag(name, Object.keys(COMMANDS));
    const hint = near !== undefined ? `did you mean ${near}?` : `one of ${Object.keys(COMMANDS).join(', ')}`;
    process.stderr.write(`ganstudy: unknown command '${name}'; ${hint} (ganstudy --help)\n`);
    return 2;
  }
  const mod = (await import(`./commands/${name as CommandName}.js`)) as CommandModule;
  try {
    return await mod.run(rest);
  } catch (e) {
    return reportFailure(name, e, verboseRequested(rest));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportFailure('', err, true);
  },
);
