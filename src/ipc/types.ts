// kdb+ type codes, attributes, message types, nulls and infinities.
// Spec: code.kx.com/q/basics/datatypes, /kb/serialization.

/** Vector type codes; the atom of type t has code -t. */
export const QType = {
  List: 0,
  Boolean: 1,
  Guid: 2,
  Byte: 4,
  Short: 5,
  Int: 6,
  Long: 7,
  Real: 8,
  Float: 9,
  Char: 10,
  Symbol: 11,
  Timestamp: 12,
  Month: 13,
  Date: 14,
  Datetime: 15,
  Timespan: 16,
  Minute: 17,
  Second: 18,
  Time: 19,
  Table: 98,
  Dict: 99,
  Lambda: 100,
  Unary: 101,
  Binary: 102,
  Ternary: 103,
  Projection: 104,
  Composition: 105,
  Each: 106,
  Over: 107,
  Scan: 108,
  EachPrior: 109,
  EachRight: 110,
  EachLeft: 111,
  Dynamic: 112,
  SortedDict: 127,
  Error: -128,
} as const;

/** Attribute byte on vectors, lists and tables: none, s#, u#, p#, g#. */
export const Attr = { None: 0, Sorted: 1, Unique: 2, Parted: 3, Grouped: 4 } as const;
export type Attr = (typeof Attr)[keyof typeof Attr];

/** Header byte 1. */
export const MsgType = { Async: 0, Sync: 1, Response: 2 } as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** Bytes per element of each fixed-width vector type, indexed by type code (0 = variable). */
export const ELEMENT_WIDTH: readonly number[] = [
  0, 1, 16, 0, 1, 2, 4, 8, 4, 8, 1, 0, 8, 4, 4, 8, 8, 4, 4, 4,
];

/** One letter per type code, as q's `.Q.t` (used by the schema reader and error text). */
export const TYPE_CHAR = ' bg xhijefcspmdznuvt';

// Integer nulls and infinities are INT_MIN, INT_MAX and INT_MIN+1 of the width (k.h nh/wh, ni/wi, nj/wj).
export const NULL_SHORT = -0x8000;
export const INF_SHORT = 0x7fff;
export const NULL_INT = -0x80000000;
export const INF_INT = 0x7fffffff;
export const NULL_LONG = -0x8000000000000000n;
export const INF_LONG = 0x7fffffffffffffffn;

/** Milliseconds between 1970.01.01 and q's epoch 2000.01.01. */
export const EPOCH_OFFSET_MS = 946_684_800_000;
/** Days between 1970.01.01 and 2000.01.01. */
export const EPOCH_OFFSET_DAYS = 10_957;
export const NANOS_PER_DAY = 86_400_000_000_000n;
