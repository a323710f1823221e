// binary-parser 2.3 ships types, but its package.json "exports" map has no "types"
// condition, so TypeScript's NodeNext resolution cannot find them. This shim declares
// the part of the API fs3burn uses. Parsers are internal: no public type depends on it.
declare module 'binary-parser' {
  type Endianness = 'big' | 'little';
  interface FieldOptions {
    formatter?: (value: any) => any;
    assert?: number | string | ((value: any) => boolean);
  }
  interface ArrayOptions extends FieldOptions {
    type: string | Parser;
    length?: number | string | ((this: any) => number);
    lengthInBytes?: number | string | ((this: any) => number);
    readUntil?: 'eof' | ((item: any, buffer: Uint8Array) => boolean);
  }
  interface BufferOptions extends FieldOptions {
    length?: number | string | ((this: any) => number);
    readUntil?: 'eof';
    clone?: boolean;
  }
  interface StringOptions extends FieldOptions {
    length?: number | string | ((this: any) => number);
    encoding?: string;
    zeroTerminated?: boolean;
    stripNull?: boolean;
    trim?: boolean;
  }
  interface NestOptions extends FieldOptions {
    type: Parser;
  }
  export class Parser {
    constructor();
    endianness(e: Endianness): this;
    uint8(name: string, options?: FieldOptions): this;
    uint16(name: string, options?: FieldOptions): this;
    uint32(name: string, options?: FieldOptions): this;
    uint16be(name: string, options?: FieldOptions): this;
    uint32be(name: string, options?: FieldOptions): this;
    uint64(name: string, options?: FieldOptions): this;
    uint64be(name: string, options?: FieldOptions): this;
    int32(name: string, options?: FieldOptions): this;
    bit1(name: string, options?: FieldOptions): this;
    bit2(name: string, options?: FieldOptions): this;
    bit3(name: string, options?: FieldOptions): this;
    bit4(name: string, options?: FieldOptions): this;
    bit5(name: string, options?: FieldOptions): this;
    bit6(name: string, options?: FieldOptions): this;
    bit7(name: string, options?: FieldOptions): this;
    bit8(name: string, options?: FieldOptions): this;
    bit9(name: string, options?: FieldOptions): this;
    bit11(name: string, options?: FieldOptions): this;
    bit12(name: string, options?: FieldOptions): this;
    bit13(name: string, options?: FieldOptions): this;
    bit15(name: string, options?: FieldOptions): this;
    bit16(name: string, options?: FieldOptions): this;
    bit22(name: string, options?: FieldOptions): this;
    bit24(name: string, options?: FieldOptions): this;
    bit29(name: string, options?: FieldOptions): this;
    bit30(name: string, options?: FieldOptions): this;
    array(name: string, options: ArrayOptions): this;
    buffer(name: string, options: BufferOptions): this;
    string(name: string, options: StringOptions): this;
    nest(name: string, options: NestOptions): this;
    seek(relOffset: number): this;
    pointer(name: string, options: { offset: number; type: string | Parser }): this;
    saveOffset(name: string): this;
    parse(buffer: Uint8Array): any;
  }
}
