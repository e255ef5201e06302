/**
 * Float64 kernels run by libtensorflow itself, through the tfjs-node binding (the path tfjs-node's own kernels
 * take: `executeOp` by op name on tensor handles). TF.js has no float64 dtype, but libtensorflow does: data goes in
 * as int32 pairs and is reinterpreted with `Bitcast` (no rounding, no copy inside TensorFlow), every op between
 * runs on DT_DOUBLE, and results come back through `Bitcast` to int32 again. Handles are deleted when a kernel
 * returns, also when an op fails. TensorFlow computes with subnormals flushed to zero (below 2.2e-308): the one
 * way these kernels differ from the JavaScript ones beyond summation order.
 */
import type { Float64Kernels, ProbabilityRowStats } from './float64.js';

/** TF_DataType DT_DOUBLE in TensorFlow's C API (tensorflow/c/tf_datatype.h); the binding exports no constant for it. */
const TF_DOUBLE = 2;

interface TensorMeta {
  id: number;
  shape: number[];
  dtype: number;
}

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean;
}

/** The part of tfjs-node's native binding used here. */
export interface TfBinding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  createTensor(shape: number[], dtype: number, data: Int32Array | Float32Array): number;
  executeOp(name: string, attrs: OpAttr[], inputs: number[], numOutputs: number): TensorMeta[];
  tensorDataSync(id: number): Int32Array | Float32Array;
  deleteTensor(id: number): void;
}

/** One kernel's tensor handles, all deleted by `dispose`. */
class Session {
  private readonly ids: number[] = [];
  constructor(private readonly b: TfBinding) {}

  private keep(id: number): number {
    this.ids.push(id);
    return id;
  }

  private typeAttr(name: string, dtype: number): OpAttr {
    return { name, type: this.b.TF_ATTR_TYPE, value: dtype };
  }

  boolAttr(name: string, value: boolean): OpAttr {
    return { name, type: this.b.TF_ATTR_BOOL, value };
  }

  /** An op on double inputs with attribute T = double (plus `extra`), first output. */
  op(name: string, inputs: number[], extra: OpAttr[] = []): number {
    return this.opOutputs(name, inputs, 1, extra)[0]!;
  }

  opOutputs(name: string, inputs: number[], outputs: number, extra: OpAttr[] = []): number[] {
    const metas = this.b.executeOp(name, [this.typeAttr('T', TF_DOUBLE), ...extra], inputs, outputs);
    return metas.map((m) => this.keep(m.id));
  }

  int32(shape: number[], data: Int32Array): number {
    return this.keep(this.b.createTensor(shape, this.b.TF_INT32, data));
  }

  /** Float64 data as a DT_DOUBLE tensor, bit for bit; float32 data widened by `Cast` (exact). */
  upload(data: Float64Array | Float32Array, shape: number[]): number {
    if (data instanceof Float32Array) {
      const f = this.keep(this.b.createTensor(shape, this.b.TF_FLOAT, data));
      const cast = this.b.executeOp(
        'Cast',
        [this.typeAttr('SrcT', this.b.TF_FLOAT), this.typeAttr('DstT', TF_DOUBLE), this.boolAttr('Truncate', false)],
        [f],
        1,
      );
      return this.keep(cast[0]!.id);
    }
    const pairs = new Int32Array(data.buffer, data.byteOffset, data.length * 2);
    const raw = this.int32([...shape, 2], pairs);
    const bitcast = [this.typeAttr('T', this.b.TF_INT32), this.typeAttr('type', TF_DOUBLE)];
    return this.keep(this.b.executeOp('Bitcast', bitcast, [raw], 1)[0]!.id);
  }

  /** A DT_DOUBLE tensor's values (row-major), bit for bit. */
  download(id: number): Float64Array {
    const bitcast = [this.typeAttr('T', TF_DOUBLE), this.typeAttr('type', this.b.TF_INT32)];
    const pairs = this.b.tensorDataSync(this.keep(this.b.executeOp('Bitcast', bitcast, [id], 1)[0]!.id));
    // copy: the binding's buffer is not ours to keep, and it may not be 8-byte aligned
    const bytes = new Uint8Array(pairs.buffer, pairs.byteOffset, pairs.byteLength);
    return new Float64Array(bytes.slice().buffer);
  }

  /** Reduction (`Sum`, `Mean`) over the given axes, dimensions dropped unless `keepDims`. */
  reduce(name: 'Sum' | 'Mean', x: number, axes: number[], keepDims = false): number {
    const axesId = this.int32([axes.length], Int32Array.from(axes));
    return this.op(name, [x, axesId], [this.typeAttr('Tidx', this.b.TF_INT32), this.boolAttr('keep_dims', keepDims)]);
  }

  segmentSum(x: number, segmentIds: Int32Array): number {
    const ids = this.int32([segmentIds.length], segmentIds);
    return this.op('SegmentSum', [x, ids], [this.typeAttr('Tindices', this.b.TF_INT32)]);
  }

  matMul(a: number, b: number, transposeA: boolean, transposeB: boolean): number {
    return this.op(
      'MatMul',
      [a, b],
      [this.boolAttr('transpose_a', transposeA), this.boolAttr('transpose_b', transposeB)],
    );
  }

  dispose(): void {
    for (const id of this.ids.splice(0)) this.b.deleteTensor(id);
  }
}

/** The symmetric matrix whose upper triangle `m` holds (n × n row-major, in place): GEMM rounds (i, j) and (j, i) apart. */
function mirrorUpper(m: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) m[i * n + j] = m[j * n + i]!;
  return m;
}

type Run = <T>(fn: (s: Session) => T) => T;

/**
 * Elements per chunk of `probabilityRowStats`: the per-entry intermediates of a chunk stay small enough for the
 * allocator to reuse their memory instead of mapping fresh pages for every op (bench/README.md, "Float64 kernels for the metrics").
 */
const ROW_STATS_CHUNK_ELEMENTS = 1 << 19;

function probabilityRowStats(
  run: Run,
  P: Float64Array | Float32Array,
  n: number,
  c: number,
  splitOf: Int32Array,
  splits: number,
): ProbabilityRowStats {
  const rowSums = new Float64Array(n);
  const rowXLogX = new Float64Array(n);
  const splitColumnSums = new Float64Array(splits * c);
  const rowsPerChunk = Math.max(1, Math.floor(ROW_STATS_CHUNK_ELEMENTS / c));
  for (let i0 = 0; i0 < n; i0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n - i0);
    run((s) => {
      const p = s.upload(P.subarray(i0 * c, (i0 + rows) * c), [rows, c]);
      rowXLogX.set(s.download(s.reduce('Sum', s.op('Xlogy', [p, p]), [1])), i0);
      rowSums.set(s.download(s.reduce('Sum', p, [1])), i0);
      const first = splitOf[i0]!;
      const columnSums = s.download(
        s.segmentSum(
          p,
          splitOf.subarray(i0, i0 + rows).map((k) => k - first),
        ),
      );
      for (let k = 0; k < columnSums.length; k++) splitColumnSums[first * c + k] += columnSums[k]!;
    });
  }
  return { rowSums, rowXLogX, splitColumnSums };
}

export function nativeFloat64Kernels(binding: TfBinding): Float64Kernels {
  const run: Run = (fn) => {
    const s = new Session(binding);
    try {
      return fn(s);
    } finally {
      s.dispose();
    }
  };
  return {
    name: 'libtensorflow',
    gram: (A, n, B, m, d) =>
      run((s) =>
        s.download(
          s.matMul(s.upload(A.subarray(0, n * d), [n, d]), s.upload(B.subarray(0, m * d), [m, d]), false, true),
        ),
      ),
    symmetricEigenvalues: (S, n) =>
      run((s) => {
        // only the lower triangle is read by TensorFlow's SelfAdjointEigV2 (Eigen's SelfAdjointEigenSolver)
        const [values] = s.opOutputs('SelfAdjointEigV2', [s.upload(S.subarray(0, n * n), [n, n])], 2, [
          s.boolAttr('compute_v', false),
        ]);
        return s.download(values!);
      }),
    columnMoments: (X, n, d) =>
      run((s) => {
        const x = s.upload(X.subarray(0, n * d), [n, d]);
        const mean = s.reduce('Mean', x, [0], true);
        const centred = s.op('Sub', [x, mean]);
        const cov = s.download(s.matMul(centred, centred, true, false));
        for (let k = 0; k < cov.length; k++) cov[k] = cov[k]! / (n - 1);
        return { mean: s.download(mean), cov: mirrorUpper(cov, d) };
      }),
    probabilityRowStats: (P, n, c, splitOf, splits) => probabilityRowStats(run, P, n, c, splitOf, splits),
  };
}
