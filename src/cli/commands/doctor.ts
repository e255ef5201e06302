/** `ganstudy doctor`: the TensorFlow backend in use, as JSON. */
import { parseCommandLine } from '../args.js';

const USAGE = `usage: ganstudy doctor [options]

Prints the TensorFlow backend in use (native or pure JS, version, threads) as JSON.

options:
  -v, --verbose       stack traces on errors
  -h, --help          this text
`;

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseCommandLine('doctor', argv, {});
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { backendInfo } = await import('../../backend/index.js');
  process.stdout.write(`${JSON.stringify(backendInfo(), null, 2)}\n`);
  return 0;
}
