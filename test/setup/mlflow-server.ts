/**
 * Real `mlflow server`s for the tests (no mocks of MLflow), started by the product's own code
 * (src/tracking/mlflow-server.ts) against a fresh sqlite file in a temp dir, or against the PostgreSQL database
 * that CI provides (GANSTUDY_TEST_POSTGRES_URI, see .ci/run).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMlflowServer as startServer, type MlflowServer as Server } from '../../src/tracking/mlflow-server.js';

export { freePort, mlflowBinary } from '../../src/tracking/mlflow-server.js';

export interface MlflowServer extends Server {
  /** the temp dir holding the artifacts (and the sqlite file) */
  dir: string;
}

export const POSTGRES_ENV = 'GANSTUDY_TEST_POSTGRES_URI';

/**
 * The PostgreSQL database for the Postgres-backed conformance run, or undefined when there is none here. In CI
 * (CI=true) a missing database is an error: the suite must not pass by skipping it.
 */
export function testPostgresUri(): string | undefined {
  const uri = process.env[POSTGRES_ENV]?.trim();
  if (uri) return uri;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but ${POSTGRES_ENV} is unset: .ci/run starts PostgreSQL and sets it`);
  }
  return undefined;
}

export async function startMlflowServer(opts: { backendStoreUri?: string } = {}): Promise<MlflowServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganstudy-mlflow-'));
  const server = await startServer({
    backendStoreUri: opts.backendStoreUri ?? `sqlite:///${path.join(dir, 'mlflow.db')}`,
    artifactsDestination: path.join(dir, 'artifacts'),
  });
  return Object.assign(server, { dir });
}
