/**
 * How the scheduler splits a machine's cores between trials running at once: each child process gets
 * TF_NUM_INTRAOP_THREADS = floor(cores / parallel), at least 1, and TF_NUM_INTEROP_THREADS = 1 (one op at a time
 * per trial; the parallelism is between trials). libtensorflow reads both when its thread pools start.
 */
export function threadsPerTrial(cores: number, parallel: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, parallel)));
}
