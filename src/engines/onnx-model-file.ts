// Reads and edits just enough of an ONNX file (a protobuf `ModelProto`) to check a model before
// sherpa-onnx sees it: its custom metadata and its graph's input names. Nothing is decoded beyond
// that: weights are skipped by length, so a 60 MB voice is scanned in milliseconds.

/** What ttsq needs to know about a model file. */
export interface OnnxModelInfo {
  /** `metadata_props` of the model, in file order; a later duplicate key wins. */
  metadata: Map<string, string>;
  /** Names of the main graph's inputs, in order. */
  inputNames: string[];
  /** Names of the main graph's outputs, in order. */
  outputNames: string[];
}

/** A protobuf field as found in a message: its number and where its bytes lie. */
interface Field {
  fieldNumber: number;
  wireType: number;
  /** Offset of the field's tag: the field spans `[start, end)`. */
  start: number;
  end: number;
  /** For length-delimited fields: where the payload starts. */
  valueStart: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Field numbers of `onnx.proto` (stable since ONNX 1.0). */
const MODEL_GRAPH = 7;
const MODEL_METADATA_PROPS = 14;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const VALUE_INFO_NAME = 1;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a base-128 varint; numbers above 2^53 (never lengths here) lose precision. */
function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new TypeError(`Not an ONNX model: bad varint at byte ${offset}`);
}

/** Where the value of a field with `wireType` ends, given where it starts. */
function valueEnd(
  bytes: Uint8Array,
  wireType: number,
  offset: number,
): { end: number; at: number } {
  switch (wireType) {
    case WIRE_VARINT:
      return { end: readVarint(bytes, offset).next, at: offset };
    case WIRE_FIXED64:
      return { end: offset + 8, at: offset };
    case WIRE_FIXED32:
      return { end: offset + 4, at: offset };
    case WIRE_LENGTH_DELIMITED: {
      const length = readVarint(bytes, offset);
      return { end: length.next + length.value, at: length.next };
    }
    default:
      throw new TypeError(`Not an ONNX model: unsupported wire type ${wireType} at byte ${offset}`);
  }
}

/** The top-level fields of one message occupying `[from, to)` of `bytes`. */
function scanFields(bytes: Uint8Array, from = 0, to = bytes.length): Field[] {
  const fields: Field[] = [];
  let offset = from;
  while (offset < to) {
    const tag = readVarint(bytes, offset);
    const fieldNumber = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    const { end, at } = valueEnd(bytes, wireType, tag.next);
    if (fieldNumber === 0 || end > to) {
      throw new TypeError(`Not an ONNX model, or truncated: field at byte ${offset} overruns`);
    }
    fields.push({ fieldNumber, wireType, start: offset, end, valueStart: at });
    offset = end;
  }
  return fields;
}

function stringField(bytes: Uint8Array, fields: Field[], fieldNumber: number): string {
  const field = fields.find((f) => f.fieldNumber === fieldNumber);
  if (!field || field.wireType !== WIRE_LENGTH_DELIMITED) return '';
  return utf8.decode(bytes.subarray(field.valueStart, field.end));
}

function submessages(bytes: Uint8Array, fields: Field[], fieldNumber: number): Field[][] {
  return fields
    .filter((f) => f.fieldNumber === fieldNumber && f.wireType === WIRE_LENGTH_DELIMITED)
    .map((f) => scanFields(bytes, f.valueStart, f.end));
}

function valueInfoNames(bytes: Uint8Array, graph: Field[], fieldNumber: number): string[] {
  return submessages(bytes, graph, fieldNumber).map((info) =>
    stringField(bytes, info, VALUE_INFO_NAME),
  );
}

/**
 * Reads a model's metadata and input and output names.
 * @throws TypeError when the bytes are not a well-formed ONNX model with a graph.
 */
export function readOnnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  const fields = scanFields(bytes);
  const [graph] = submessages(bytes, fields, MODEL_GRAPH);
  if (!graph) throw new TypeError('Not an ONNX model: it has no graph');

  const metadata = new Map<string, string>();
  for (const entry of submessages(bytes, fields, MODEL_METADATA_PROPS)) {
    metadata.set(stringField(bytes, entry, ENTRY_KEY), stringField(bytes, entry, ENTRY_VALUE));
  }
  return {
    metadata,
    inputNames: valueInfoNames(bytes, graph, GRAPH_INPUT),
    outputNames: valueInfoNames(bytes, graph, GRAPH_OUTPUT),
  };
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function lengthDelimited(fieldNumber: number, payload: Uint8Array): Buffer {
  const header = [...encodeVarint(fieldNumber * 8 + WIRE_LENGTH_DELIMITED)];
  return Buffer.concat([Buffer.from([...header, ...encodeVarint(payload.length)]), payload]);
}

function metadataEntry(key: string, value: string): Buffer {
  const entry = Buffer.concat([
    lengthDelimited(ENTRY_KEY, Buffer.from(key, 'utf8')),
    lengthDelimited(ENTRY_VALUE, Buffer.from(value, 'utf8')),
  ]);
  return lengthDelimited(MODEL_METADATA_PROPS, entry);
}

/**
 * The model with its metadata replaced by `metadata`: every other field is copied byte for byte
 * and the new entries are appended, which protobuf parsers merge into the same message.
 * @throws TypeError when the bytes are not a well-formed ONNX model.
 */
export function withOnnxMetadata(bytes: Uint8Array, metadata: ReadonlyMap<string, string>): Buffer {
  const kept = scanFields(bytes)
    .filter((field) => field.fieldNumber !== MODEL_METADATA_PROPS)
    .map((field) => bytes.subarray(field.start, field.end));
  const added = [...metadata].map(([key, value]) => metadataEntry(key, value));
  return Buffer.concat([...kept, ...added]);
}
