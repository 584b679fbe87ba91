/**
 * NativeRecord: an OTP 29 native record (`-record #name{...}`), the value of
 * RECORD_EXT (tag 67). On the wire: the field count (u32), an "exported"
 * byte, the defining module, the record name, the field names, then the
 * values in the same order. Measured on OTP 29.1: it sends RECORD_EXT even
 * to a peer that does not offer DFLAG_NATIVE_RECORDS.
 * @module
 */
import type { Atom } from '../terms/atom.js';

/**
 * A native record: its module, name, field names and values (in definition
 * order), and whether the module exports the record (`-export_record`).
 * @example
 * ```ts
 * import { NativeRecord, atom } from 'beamline';
 * const pt = new NativeRecord(atom('geo'), atom('point'), [atom('x'), atom('y')], [1, 2], false);
 * pt.get('y'); // 2
 * ```
 */
export class NativeRecord {
  constructor(
    /** The module that defines the record. */
    readonly module: Atom,
    /** The record's name. */
    readonly name: Atom,
    /** Field names, in definition order. */
    readonly fields: readonly Atom[],
    /** Field values, in the order of {@link NativeRecord.fields}. */
    readonly values: readonly unknown[],
    /** True when the defining module exports the record. */
    readonly exported = false,
  ) {
    if (fields.length !== values.length) throw new RangeError(`native record #${name.name}: ${fields.length} fields but ${values.length} values`);
  }

  /** The value of field `field` (undefined when the record has no such field). */
  get(field: string | Atom): unknown {
    const n = typeof field === 'string' ? field : field.name;
    const i = this.fields.findIndex((f) => f.name === n);
    return i < 0 ? undefined : this.values[i];
  }

  toString(): string {
    return `#${this.module.name}:${this.name.name}{${this.fields.map((f, i) => `${f.name} = ${String(this.values[i])}`).join(', ')}}`;
  }
}
