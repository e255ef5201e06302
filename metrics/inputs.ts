/**
 * Input validation and conversion shared by the metrics: every metric accepts TF.js tensors as well as plain
 * data (nested arrays, or a flat typed array with its shape), and fails with a message that names the argument
 * and the shape it got. Image batches become float32 tensors (the metrics that use them run TF ops); matrices
 * (class probabilities, features) become float64 row-major arrays, because their reductions run in float64.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { Matrix } from 'ml-matrix';
import { tf } from '../src/backend/index.js';

/** A flat array with its shape, e.g. `{ data: Float32Array, shape: [n, h, w, c] }`. */
export interface ShapedData<S extends readonly number[] = readonly number[]> {
  data: ArrayLike<number>;
  shape: S;
}

/** An NHWC batch: a rank-4 tensor, nested arrays [n][h][w][c], or flat data with shape [n, h, w, c]. */
export type ImageBatchInput =
  | Tensor4D
  | Tensor
  | number[][][][]
  | ShapedData<readonly [number, number, number, number]>;

/** An N×D matrix: a rank-2 tensor, number[][] (or typed-array rows), flat data with shape [n, d], or an ml-matrix Matrix. */
export type MatrixInput = Tensor | ArrayLike<number>[] | ShapedData<readonly [number, number]> | Matrix;

/** A dense row-major float64 matrix. */
export interface Matrix64 {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Human-readable shape of whatever was passed, for error messages. */
export function describeShape(value: unknown): string {
  if (value instanceof tf.Tensor) return `tensor of shape [${value.shape.join(', ')}] (${value.dtype})`;
  if (value instanceof Matrix) return `Matrix ${value.rows}×${value.columns}`;
  if (isShapedData(value)) return `{data: ${value.data.length} values, shape: [${Array.from(value.shape).join(', ')}]}`;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const dims: number[] = [];
    let cur: unknown = value;
    while (Array.isArray(cur) || (ArrayBuffer.isView(cur) && !(cur instanceof DataView))) {
      const arr = cur as ArrayLike<unknown>;
      dims.push(arr.length);
      if (arr.length === 0) break;
      cur = arr[0];
    }
    return `array of shape [${dims.join(', ')}]`;
  }
  if (value === null) return 'null';
  return typeof value;
}

function isShapedData(value: unknown): value is ShapedData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { data?: unknown; shape?: unknown };
  return (
    Array.isArray(v.shape) &&
    v.data !== undefined &&
    (Array.isArray(v.data) || (ArrayBuffer.isView(v.data) && !(v.data instanceof DataView)))
  );
}

function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`${name}: expected ${expected}; got ${describeShape(value)}`);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Flatten nested arrays of a known rank into `out`, checking that every row has the same length. */
function flattenNested(
  value: unknown,
  rank: number,
  name: string,
  expected: string,
): { data: Float32Array | Float64Array; shape: number[] } {
  const shape: number[] = [];
  let cur: unknown = value;
  for (let d = 0; d < rank; d++) {
    if (!(Array.isArray(cur) || (ArrayBuffer.isView(cur) && !(cur instanceof DataView)))) fail(name, expected, value);
    const arr = cur as ArrayLike<unknown>;
    shape.push(arr.length);
    if (arr.length === 0) fail(name, expected, value);
    cur = arr[0];
  }
  if (typeof cur !== 'number') fail(name, expected, value);
  const out = new Float64Array(product(shape));
  let k = 0;
  const walk = (node: unknown, depth: number, path: number[]): void => {
    const arr = node as ArrayLike<unknown>;
    if (
      !(Array.isArray(node) || (ArrayBuffer.isView(node) && !(node instanceof DataView))) ||
      arr.length !== shape[depth]
    ) {
      throw new TypeError(
        `${name}: ragged nested array: element [${path.join('][')}] has ${describeShape(node)}, expected length ${shape[depth]} (shape [${shape.join(', ')}])`,
      );
    }
    if (depth === rank - 1) {
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i];
        if (typeof x !== 'number')
          throw new TypeError(`${name}: element [${[...path, i].join('][')}] is ${typeof x}, expected a number`);
        out[k++] = x;
      }
    } else {
      for (let i = 0; i < arr.length; i++) walk(arr[i], depth + 1, [...path, i]);
    }
  };
  walk(value, 0, []);
  return { data: out, shape };
}

/**
 * An NHWC image batch as a float32 tensor that the caller owns and must dispose (a tensor input is cloned,
 * which shares its buffer, so disposing the result never disposes the caller's tensor).
 */
export function toImageBatch(value: unknown, name: string): Tensor4D {
  const expected =
    'an NHWC image batch (rank-4 tf.Tensor, number[n][h][w][c], or {data, shape: [n, h, w, c]}) with n, h, w, c ≥ 1';
  if (value instanceof tf.Tensor) {
    if (value.rank !== 4 || value.size === 0) fail(name, expected, value);
    if (value.dtype !== 'float32' && value.dtype !== 'int32') fail(name, expected + ' of a numeric dtype', value);
    return (value.dtype === 'float32' ? tf.clone(value) : tf.cast(value, 'float32')) as Tensor4D;
  }
  if (isShapedData(value)) {
    const shape = Array.from(value.shape);
    if (
      shape.length !== 4 ||
      shape.some((d) => !Number.isInteger(d) || d < 1) ||
      product(shape) !== value.data.length
    ) {
      fail(name, expected + ' (data length = product of shape)', value);
    }
    return tf.tensor4d(Float32Array.from(value.data), shape as [number, number, number, number], 'float32');
  }
  const { data, shape } = flattenNested(value, 4, name, expected);
  return tf.tensor4d(Float32Array.from(data), shape as [number, number, number, number], 'float32');
}

/** An N×D matrix as float64 row-major data (always a fresh copy). Non-finite entries are refused. */
export function toMatrix64(value: unknown, name: string): Matrix64 {
  const expected =
    'an N×D matrix (rank-2 tf.Tensor, number[][], ml-matrix Matrix, or {data, shape: [n, d]}) with n, d ≥ 1';
  let result: Matrix64;
  if (value instanceof tf.Tensor) {
    if (value.rank !== 2 || value.size === 0) fail(name, expected, value);
    const src = value.dataSync() as ArrayLike<number>;
    result = { data: Float64Array.from(src), rows: value.shape[0]!, cols: value.shape[1]! };
  } else if (value instanceof Matrix) {
    if (value.rows === 0 || value.columns === 0) fail(name, expected, value);
    const data = new Float64Array(value.rows * value.columns);
    for (let i = 0; i < value.rows; i++) data.set(value.getRow(i), i * value.columns);
    result = { data, rows: value.rows, cols: value.columns };
  } else if (isShapedData(value)) {
    const shape = Array.from(value.shape);
    if (
      shape.length !== 2 ||
      shape.some((d) => !Number.isInteger(d) || d < 1) ||
      product(shape) !== value.data.length
    ) {
      fail(name, expected + ' (data length = product of shape)', value);
    }
    result = { data: Float64Array.from(value.data), rows: shape[0]!, cols: shape[1]! };
  } else {
    const { data, shape } = flattenNested(value, 2, name, expected);
    result = { data: data instanceof Float64Array ? data : Float64Array.from(data), rows: shape[0]!, cols: shape[1]! };
  }
  const d = result.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      const r = Math.floor(i / result.cols);
      throw new RangeError(
        `${name}: element [${r}][${i - r * result.cols}] is ${d[i]} (shape [${result.rows}, ${result.cols}]); all entries must be finite`,
      );
    }
  }
  return result;
}
