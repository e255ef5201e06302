import { backendInfo } from '../../backend/index.js';

export async function run(_argv: string[]): Promise<number> {
  process.stdout.write(JSON.stringify(backendInfo(), null, 2) + '\n');
  return 0;
}
