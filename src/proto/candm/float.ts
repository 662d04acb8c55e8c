/**
 * chrony's 32-bit floating-point format on the command protocol (candm.h
 * `Float`): a 7-bit signed exponent over a 25-bit signed coefficient without
 * a hidden bit, the value being coef * 2^(exp - 25). Neither IEEE format, so
 * it is encoded by hand, rounding and saturating as chronyd's
 * UTI_FloatHostToNetwork does: NaN goes out as 0, magnitudes below 1e-100 as
 * 0, above 1e100 as the largest value.
 */
const EXP_BITS = 7;
const COEF_BITS = 32 - EXP_BITS;
const EXP_MIN = -(1 << (EXP_BITS - 1));
const EXP_MAX = -EXP_MIN - 1;
const COEF_MAX = (1 << (COEF_BITS - 1)) - 1;

/** The 32-bit word (as an unsigned number) carrying `x`. */
export function encodeChronyFloat(x: number): number {
  let neg = 0;
  if (x < 0) { x = -x; neg = 1; } else if (!(x >= 0)) x = 0;
  let exp: number;
  let coef: number;
  if (x < 1e-100) {
    exp = 0; coef = 0;
  } else if (x > 1e100) {
    exp = EXP_MAX; coef = COEF_MAX + neg;
  } else {
    exp = Math.trunc(Math.log(x) / Math.log(2) + 1);
    coef = Math.trunc(x * 2 ** (-exp + COEF_BITS) + 0.5);
    while (coef > COEF_MAX + neg) { coef = Math.floor(coef / 2); exp++; }
    if (exp > EXP_MAX) {
      exp = EXP_MAX; coef = COEF_MAX + neg;
    } else if (exp < EXP_MIN) {
      if (exp + COEF_BITS >= EXP_MIN) { coef = Math.floor(coef / 2 ** (EXP_MIN - exp)); exp = EXP_MIN; } else { exp = 0; coef = 0; }
    }
  }
  // The coefficient is two's complement in its 25 bits.
  if (neg) coef = (2 ** COEF_BITS - coef) % 2 ** COEF_BITS;
  return (((exp & ((1 << EXP_BITS) - 1)) * 2 ** COEF_BITS) + coef) >>> 0;
}

/** The value a 32-bit word (unsigned) carries. */
export function decodeChronyFloat(word: number): number {
  let exp = Math.floor(word / 2 ** COEF_BITS);
  if (exp >= 1 << (EXP_BITS - 1)) exp -= 1 << EXP_BITS;
  let coef = word % 2 ** COEF_BITS;
  if (coef >= 2 ** (COEF_BITS - 1)) coef -= 2 ** COEF_BITS;
  return coef * 2 ** (exp - COEF_BITS);
}
