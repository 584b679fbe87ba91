// Run: npx tsc -p . && node build/examples/etf.js
/**
 * A tour of the ETF codec: encode JavaScript values to Erlang's External
 * Term Format and back, the Erlang-specific value classes, registered
 * structs, errors, and hostile input.
 * @module
 */
import { atom, tuple, Pid } from '../src/terms/index.js';
import {
  encode,
  decode,
  Decoder,
  Encoder,
  EtfWriter,
  EtfDecodeError,
  EtfEncodeError,
  ErlMap,
  Float,
  charlist,
  registerType,
} from '../src/etf/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// 1. Plain values: objects become maps with atom keys, strings UTF-8 binaries.
const msg = { user: 'ann', tags: [1, 2, 3], active: true, score: 1.5 };
const bytes = encode(msg);
console.log('object  ->', hex(bytes));
console.log('back    ->', decode(bytes));

// 2. Erlang-specific values: atoms, tuples, charlists, floats that stay floats.
const call = tuple(atom('$gen_call'), tuple(new Pid(atom('js@127.0.0.1'), 1, 0, 1), atom('tag')), tuple(atom('get'), 'key'));
console.log('gen_call ->', decode(encode(call)));
console.log('1.0     ->', hex(encode(new Float(1))), '(NEW_FLOAT_EXT, not the integer 1)');
console.log('"abc"   ->', hex(encode(charlist('abc'))), '(STRING_EXT; the JS string "abc" is a binary)');

// 3. Maps with tuple keys, as OTP's global sends them.
const m = new ErlMap<unknown, number>([[tuple(atom('connection_id'), atom('js@vm')), 9323241]]);
const m2 = decode(encode(m)) as ErlMap<unknown, number>;
console.log('tuple key ->', m2.get(tuple(atom('connection_id'), atom('js@vm'))));

// 4. A registered class travels as an Elixir struct %MyApp.User{}.
class User {
  constructor(
    readonly name: string,
    readonly age: number,
  ) {}
}
registerType('MyApp.User', User);
const u = decode(encode(new User('ann', 33)));
console.log('struct  ->', u, u instanceof User);
console.log('as Elixir sees it ->', decode(encode(new User('ann', 33)), { structs: false }));

// 5. Errors cross the wire as exception-like structs and come back as Errors.
const err = decode(encode(new TypeError('bad input'))) as Error;
console.log('error   ->', err instanceof TypeError, err.message);

// 6. Distribution-style use: no 131 prefix, a reused writer, offsets.
const w = new EtfWriter();
const enc = new Encoder();
enc.writeTerm(w, atom('control'));
enc.writeTerm(w, msg);
const frame = w.toBuffer();
const dec = new Decoder({ binaries: 'bytes' });
const first = dec.decodeAt(frame, 0);
const second = dec.decodeAt(frame, first.offset);
console.log('frame   ->', first.term, second.term);

// 7. Hostile input fails fast with a typed error: a list claiming 4 GB.
try {
  decode(Buffer.from([131, 108, 0xff, 0xff, 0xff, 0xff, 106]));
} catch (e) {
  if (e instanceof EtfDecodeError) console.log('hostile ->', e.code, 'at byte', e.offset);
}

// 8. Nesting costs memory, not call stack: an iolist built by 200,000 appends round-trips.
let iolist: unknown = [];
for (let i = 0; i < 200_000; i++) iolist = [iolist, 'chunk'];
console.log('deep    ->', encode(iolist).length, 'bytes, decodes:', Array.isArray(decode(encode(iolist))));

// 9. A value that contains itself has no Erlang term: a typed error, found on the path.
const loop: unknown[] = [];
loop.push({ back: loop });
try {
  encode(loop);
} catch (e) {
  if (e instanceof EtfEncodeError) console.log('cycle   ->', e.code, e.message);
}

// 10. A term that would not fit the heap budget is refused from its counts, before allocating.
const manyNils = Buffer.concat([Buffer.from([131, 108, 0, 0x98, 0x96, 0x80]), Buffer.alloc(10_000_001, 106)]); // 10 million []
try {
  new Decoder({ maxHeapBytes: 64 * 1024 * 1024 }).decode(manyNils);
} catch (e) {
  if (e instanceof EtfDecodeError) console.log('budget  ->', e.code, 'option', e.option, 'at byte', e.offset);
}
