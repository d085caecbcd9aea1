/**
 * Minimal protocol-buffers writer: just what ONNX export needs (varints, length-delimited fields, packed
 * floats and int64s). Messages are built bottom-up as byte arrays.
 */
export class ProtoWriter {
  private parts: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.parts.push(x);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  packedFloats(field: number, vs: ArrayLike<number>): this {
    return this.bytes(field, new Uint8Array(Float32Array.from(vs).buffer));
  }

  packedInts(field: number, vs: ArrayLike<number>): this {
    const w = new ProtoWriter();
    for (let i = 0; i < vs.length; i++) w.varint(vs[i]!);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
