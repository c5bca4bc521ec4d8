/**
 * ONNX bytes -> a plain graph description (nodes, attributes, initializers as host tensors).
 * Every malformed piece fails here with an Error naming the node / initializer / field.
 */
import { host, type HostTensor } from '../host.ts';
import {
  ModelProto,
  type AttributeProtoMsg,
  type Int64,
  type ModelProtoMsg,
  type TensorProtoMsg,
  type ValueInfoProtoMsg,
} from './schema.ts';

export type AttrValue = number | string | number[] | string[] | HostTensor;

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
}

export interface OnnxValueInfo {
  readonly name: string;
  /** Static dims; a symbolic or missing dim is -1. Undefined when no shape is declared. */
  readonly dims?: readonly number[];
}

export interface OnnxGraph {
  readonly opset: number;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, HostTensor>;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

const num = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());

// TensorProto.DataType values we read.
const FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6, INT64 = 7, BOOL = 9, DOUBLE = 11;

function copyBytes(raw: Uint8Array, elementSize: number, where: string): ArrayBuffer {
  if (raw.length % elementSize !== 0) throw new Error(`${where}: raw_data has ${raw.length} bytes, not a multiple of ${elementSize}`);
  // raw_data can sit at any offset of the file buffer (or be a Node Buffer view into a
  // shared pool): copy into a fresh, aligned buffer.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  return copy.buffer;
}

export function decodeTensor(t: TensorProtoMsg, where: string): HostTensor {
  const dims = t.dims.map(num);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1) throw new Error(`${where}: external tensor data is not supported`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  let values: ArrayLike<number>;
  let dtype: HostTensor['dtype'];
  switch (t.dataType) {
    case FLOAT:
      values = raw ? new Float32Array(copyBytes(raw, 4, where)) : t.floatData;
      dtype = 'float';
      break;
    case DOUBLE:
      values = raw ? new Float64Array(copyBytes(raw, 8, where)) : t.doubleData;
      dtype = 'float';
      break;
    case INT64:
      values = raw ? Array.from(new BigInt64Array(copyBytes(raw, 8, where)), Number) : t.int64Data.map(num);
      dtype = 'int';
      break;
    case INT32:
      values = raw ? new Int32Array(copyBytes(raw, 4, where)) : t.int32Data;
      dtype = 'int';
      break;
    case INT8:
      values = raw ? new Int8Array(copyBytes(raw, 1, where)) : t.int32Data;
      dtype = 'int';
      break;
    case UINT8:
      values = raw ? new Uint8Array(copyBytes(raw, 1, where)) : t.int32Data;
      dtype = 'int';
      break;
    case BOOL:
      values = raw ? new Uint8Array(copyBytes(raw, 1, where)) : t.int32Data;
      dtype = 'bool';
      break;
    default:
      throw new Error(`${where}: unsupported tensor data_type ${t.dataType}`);
  }
  if (values.length !== n) {
    throw new Error(`${where}: holds ${values.length} values but dims [${dims.join(',')}] need ${n}`);
  }
  return host(dims, values, dtype);
}

const utf8 = new TextDecoder();

function decodeAttr(a: AttributeProtoMsg, where: string): AttrValue {
  // AttributeProto.AttributeType
  switch (a.type) {
    case 1: return a.f;
    case 2: return num(a.i);
    case 3: return utf8.decode(a.s);
    case 4:
      if (!a.t) throw new Error(`${where}: attribute ${a.name} of type TENSOR has no tensor`);
      return decodeTensor(a.t, `${where} attribute ${a.name}`);
    case 6: return [...a.floats];
    case 7: return a.ints.map(num);
    case 8: return a.strings.map((s) => utf8.decode(s));
    default:
      throw new Error(`${where}: attribute ${a.name} has unsupported type ${a.type}`);
  }
}

function valueInfo(v: ValueInfoProtoMsg): OnnxValueInfo {
  const dims = v.type?.tensorType?.shape?.dim.map((d) => (d.dimParam ? -1 : num(d.dimValue) || -1));
  return { name: v.name, dims };
}

export function decodeOnnx(bytes: Uint8Array, fileName = 'ONNX model'): OnnxGraph {
  let msg: ModelProtoMsg;
  try {
    msg = ModelProto.decode(bytes) as unknown as ModelProtoMsg;
  } catch (err) {
    throw new Error(`${fileName}: malformed ONNX file (${err instanceof Error ? err.message : String(err)})`);
  }
  const graph = msg.graph;
  if (!graph || graph.node.length === 0) throw new Error(`${fileName}: malformed ONNX file (no graph or no nodes)`);
  const opsetEntry = msg.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opsetEntry) throw new Error(`${fileName}: no opset_import for the default ONNX domain`);
  const opset = num(opsetEntry.version);
  const initializers = new Map<string, HostTensor>();
  for (const t of graph.initializer) {
    if (!t.name) throw new Error(`${fileName}: initializer without a name`);
    initializers.set(t.name, decodeTensor(t, `${fileName}: initializer ${t.name}`));
  }
  const nodes: OnnxNode[] = graph.node.map((n, i) => {
    const name = n.name || `${n.opType}_${i}`;
    const where = `${fileName}: node ${name} (${n.opType})`;
    if (n.domain && n.domain !== 'ai.onnx') throw new Error(`${where}: unsupported operator domain '${n.domain}'`);
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute) attrs.set(a.name, decodeAttr(a, where));
    return { name, opType: n.opType, inputs: [...n.input], outputs: [...n.output], attrs };
  });
  const inputs = graph.input.filter((v) => !initializers.has(v.name)).map(valueInfo);
  if (inputs.length !== 1) throw new Error(`${fileName}: expected one graph input (the image batch), found ${inputs.length}`);
  return { opset, nodes, initializers, inputs, outputs: graph.output.map(valueInfo) };
}
