/**
 * Erlang term values shared by the runtime and the codec: atoms, tuples and
 * identifiers. The codec (`etf`) adds the rest of the mapping.
 * @module
 */
export { Atom, atom, isAtom } from './atom.js';
export { Tuple, tuple, isTagged, isTuple } from './tuple.js';
export { Pid, Ref, Port } from './identifiers.js';
export { ImproperList } from './improper-list.js';
