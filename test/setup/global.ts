import type { TestProject } from 'vitest/node';
import { startMlflowServer } from './mlflow-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mlflowUri: string;
  }
}

/** One real MLflow server for the whole test run; suites read its URI with inject('mlflowUri'). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startMlflowServer();
  project.provide('mlflowUri', server.uri);
  return () => server.stop();
}
