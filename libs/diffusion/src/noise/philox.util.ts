/**
 * Philox4x32-10, the counter-based generator of Salmon et al. 2011, "Parallel Random Numbers:
 * As Easy as 1, 2, 3" (SC'11), also used by cuRAND and JAX. A block of four uint32 is a pure
 * function of (counter, key): no hidden state, so every platform produces the same bits.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9; // golden ratio
const W1 = 0xbb67ae85; // √3 − 1

/** High and low 32 bits of a 32×32-bit product (JS numbers are exact below 2^53, so split in 16-bit halves). */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const aHi = a >>> 16, aLo = a & 0xffff, bHi = b >>> 16, bLo = b & 0xffff;
  const cross = aHi * bLo + aLo * bHi + ((aLo * bLo) >>> 16);
  const hi = (aHi * bHi + Math.floor(cross / 0x10000)) >>> 0;
  return [hi, lo];
}

export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}
