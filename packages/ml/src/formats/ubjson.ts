import { MlInputError } from '../core/errors.js';

/**
 * Decodes Universal Binary JSON (draft 12, big-endian), as XGBoost writes it for `.ubj` models
 * and `save_raw('ubj')`: objects, arrays, the optimized `$type#count` containers XGBoost uses for
 * its typed node arrays, and high-precision numbers as strings.
 *
 * @example
 * const doc = decodeUbjson(await readFile('xgboost-model'));
 */
export function decodeUbjson(bytes: Uint8Array): unknown {
  const reader = new UbjReader(bytes);
  const value = reader.value();
  return value;
}

/** True when `bytes` starts like a UBJSON object (`{` followed by a key length marker or `}`/`$`/`#`). */
export function looksLikeUbjson(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x7b) return false;
  const next = String.fromCharCode(bytes[1]!);
  return 'iUIlL$#}'.includes(next);
}

class UbjReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  #pos = 0;
  readonly #text = new TextDecoder();

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number): void {
    if (this.#pos + n > this.#bytes.length) {
      throw new MlInputError('model', `UBJSON ends early at byte ${this.#pos}`);
    }
  }

  #marker(): string {
    this.#need(1);
    let m = String.fromCharCode(this.#bytes[this.#pos++]!);
    while (m === 'N') {
      this.#need(1);
      m = String.fromCharCode(this.#bytes[this.#pos++]!);
    }
    return m;
  }

  #int(type: string): number {
    const v = this.#view;
    const p = this.#pos;
    switch (type) {
      case 'i':
        this.#need(1);
        this.#pos += 1;
        return v.getInt8(p);
      case 'U':
        this.#need(1);
        this.#pos += 1;
        return v.getUint8(p);
      case 'I':
        this.#need(2);
        this.#pos += 2;
        return v.getInt16(p);
      case 'l':
        this.#need(4);
        this.#pos += 4;
        return v.getInt32(p);
      case 'L': {
        this.#need(8);
        this.#pos += 8;
        const big = v.getBigInt64(p);
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new MlInputError('model', `UBJSON integer ${big} at byte ${p} is too large`);
        }
        return Number(big);
      }
      default:
        throw new MlInputError('model', `UBJSON: expected an integer marker at byte ${p - 1}, got "${type}"`);
    }
  }

  #string(): string {
    const len = this.#int(this.#marker());
    if (len < 0) throw new MlInputError('model', `UBJSON: negative string length at byte ${this.#pos}`);
    this.#need(len);
    const s = this.#text.decode(this.#bytes.subarray(this.#pos, this.#pos + len));
    this.#pos += len;
    return s;
  }

  #typed(type: string): unknown {
    const v = this.#view;
    const p = this.#pos;
    switch (type) {
      case 'i':
      case 'U':
      case 'I':
      case 'l':
      case 'L':
        return this.#int(type);
      case 'd':
        this.#need(4);
        this.#pos += 4;
        return v.getFloat32(p);
      case 'D':
        this.#need(8);
        this.#pos += 8;
        return v.getFloat64(p);
      case 'T':
        return true;
      case 'F':
        return false;
      case 'Z':
        return null;
      case 'C':
        this.#need(1);
        this.#pos += 1;
        return String.fromCharCode(this.#bytes[p]!);
      case 'S':
        return this.#string();
      case 'H':
        return Number(this.#string());
      case '[':
        return this.#array();
      case '{':
        return this.#object();
      default:
        throw new MlInputError('model', `UBJSON: unknown type marker "${type}" at byte ${p - 1}`);
    }
  }

  value(): unknown {
    return this.#typed(this.#marker());
  }

  /** `$type` and `#count` of an optimized container, if present. */
  #header(): { type: string | undefined; count: number | undefined } {
    let type: string | undefined;
    let count: number | undefined;
    this.#need(1);
    if (this.#bytes[this.#pos] === 0x24 /* $ */) {
      this.#pos++;
      type = this.#marker();
    }
    this.#need(1);
    if (this.#bytes[this.#pos] === 0x23 /* # */) {
      this.#pos++;
      count = this.#int(this.#marker());
    } else if (type !== undefined) {
      throw new MlInputError('model', `UBJSON: a typed container needs a count at byte ${this.#pos}`);
    }
    return { type, count };
  }

  #array(): unknown[] {
    const { type, count } = this.#header();
    const out: unknown[] = [];
    if (count !== undefined) {
      for (let i = 0; i < count; i++) out.push(type ? this.#typed(type) : this.value());
      return out;
    }
    for (;;) {
      this.#need(1);
      if (this.#bytes[this.#pos] === 0x5d /* ] */) {
        this.#pos++;
        return out;
      }
      out.push(this.value());
    }
  }

  #object(): Record<string, unknown> {
    const { type, count } = this.#header();
    const out: Record<string, unknown> = {};
    if (count !== undefined) {
      for (let i = 0; i < count; i++) {
        const key = this.#string();
        out[key] = type ? this.#typed(type) : this.value();
      }
      return out;
    }
    for (;;) {
      this.#need(1);
      if (this.#bytes[this.#pos] === 0x7d /* } */) {
        this.#pos++;
        return out;
      }
      const key = this.#string();
      out[key] = this.value();
    }
  }
}
