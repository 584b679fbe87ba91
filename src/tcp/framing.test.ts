/**
 * Framer: packets one by one (feed, then next) and per chunk (push), the
 * rest kept for the next chunk, and the size limits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framer, FramingError } from './framing.js';

function drain(f: Framer): string[] {
  const out: string[] = [];
  for (let p = f.next(); p !== undefined; p = f.next()) out.push(p.toString());
  return out;
}

test('line framing: next() takes the fed lines one by one, without their \\r\\n, and keeps a partial line for the next chunk', () => {
  const f = new Framer('line');
  f.feed(Buffer.from('GET a\r\nGET b\nGE'));
  assert.equal(f.next()?.toString(), 'GET a');
  assert.equal(f.next()?.toString(), 'GET b');
  assert.equal(f.next(), undefined);
  assert.equal(f.next(), undefined, 'asking again changes nothing');
  f.feed(Buffer.from('T c\n\n'));
  assert.deepEqual(drain(f), ['GET c', '']);
  assert.deepEqual(f.push(Buffer.from('x\ny')).map(String), ['x']);
  assert.deepEqual(f.push(Buffer.from('z\n')).map(String), ['yz']);
});

test('the kept rest is a copy: the chunk it came in may be reused', () => {
  const f = new Framer('line');
  const chunk = Buffer.from('one\ntw');
  f.feed(chunk);
  assert.deepEqual(drain(f), ['one']);
  chunk.fill(0);
  f.feed(Buffer.from('o\n'));
  assert.deepEqual(drain(f), ['two']);
});

test('length framing: packets one by one across chunks, split anywhere', () => {
  const f = new Framer({ type: 'length', bytes: 2 });
  f.feed(Buffer.from([0, 2, 104, 105, 0]));
  assert.equal(f.next()?.toString(), 'hi');
  assert.equal(f.next(), undefined);
  f.feed(Buffer.from([1, 33, 0, 0]));
  assert.deepEqual(drain(f), ['!', '']);
});

test('size limits: a line or packet over the limit throws FramingError when next() reaches it, after the whole packets before it', () => {
  const lines = new Framer({ type: 'line', maxLine: 4 });
  lines.feed(Buffer.from('ok\n123456'));
  assert.equal(lines.next()?.toString(), 'ok');
  assert.throws(() => lines.next(), FramingError);
  const packets = new Framer({ type: 'length', bytes: 1, maxPacket: 3 });
  packets.feed(Buffer.from([1, 97, 9]));
  assert.equal(packets.next()?.toString(), 'a');
  assert.throws(() => packets.next(), /over the 3-byte limit/);
  assert.throws(() => new Framer({ type: 'length', bytes: 4, maxPacket: 10 }).push(Buffer.from([0, 0, 1, 0])), FramingError);
});

test('text line framing: nextText() gives the lines as strings, without their \\r\\n, and keeps a partial line (a UTF-8 character split across chunks included)', () => {
  const f = new Framer({ type: 'line', encoding: 'utf8' });
  assert.equal(f.encoding, 'utf8');
  const bytes = Buffer.from('héllo\r\nwörld\n', 'utf8');
  const cut = bytes.indexOf(0xc3, 8); // inside the two bytes of ö
  f.feed(bytes.subarray(0, cut + 1));
  assert.equal(f.nextText(), 'héllo');
  assert.equal(f.nextText(), undefined, 'half a character and no newline: nothing yet');
  f.feed(bytes.subarray(cut + 1));
  assert.equal(f.nextText(), 'wörld');
  assert.equal(f.nextText(), undefined);
  f.feed(Buffer.from('\n\xe9\n', 'latin1'));
  assert.equal(f.nextText(), '');
  assert.equal(f.nextText('latin1'), 'é', 'an encoding given to nextText overrides the framing’s');
});

test('text line framing: the size limit, and nextText() on a length framing', () => {
  const f = new Framer({ type: 'line', encoding: 'latin1', maxLine: 3 });
  f.feed(Buffer.from('abc\nabcdef'));
  assert.equal(f.nextText(), 'abc');
  assert.throws(() => f.nextText(), FramingError);
  const bin = new Framer({ type: 'length', bytes: 1 });
  assert.equal(bin.encoding, undefined);
  bin.feed(Buffer.from([1, 97]));
  assert.throws(() => bin.nextText(), TypeError);
  assert.equal(bin.next()?.toString(), 'a', 'the refused call took nothing');
  assert.equal(new Framer('line').encoding, undefined);
});
