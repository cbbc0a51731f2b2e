//! Shared by the fuzz targets: a decoder from arbitrary bytes to a share set, slow
//! reference implementations of the field and of Lagrange interpolation, and the checks
//! each target runs. The targets themselves are three-line wrappers.
//!
//! The reference is deliberately naive and independent of `svault::gf256`: schoolbook
//! carry-less multiplication reduced bit by bit, inverses by search, and Lagrange
//! interpolation straight from its formula.

use svault::shamir::{self, Consistency, Error, Share};

// ---------------------------------------------------------------------------------------
// Input decoding.
// ---------------------------------------------------------------------------------------

/// Reads bytes from the fuzzer's input; past the end every byte reads as 0, so every
/// input decodes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }
}

/// A decoded input: the shares, the parameter (the point for `interpolate`, the
/// threshold for `check_consistency`), and, for generated inputs, the polynomial the
/// undamaged shares lie on.
pub struct Input {
    pub param: u8,
    pub shares: Vec<(u8, Vec<u8>)>,
    pub polynomial: Option<Polynomial>,
}

/// One polynomial per byte position: `coefficients[k][i]` is the degree-k coefficient of
/// byte i. `damaged[j]` tells whether share j was altered after evaluation.
pub struct Polynomial {
    pub coefficients: Vec<Vec<u8>>,
    pub damaged: Vec<bool>,
}

impl Polynomial {
    /// The value at `x` of every byte's polynomial (Horner's rule).
    pub fn eval(&self, x: u8) -> Vec<u8> {
        let len = self.coefficients.first().map_or(0, Vec::len);
        (0..len)
            .map(|i| {
                self.coefficients
                    .iter()
                    .rev()
                    .fold(0u8, |acc, c| ref_mul(acc, x) ^ c[i])
            })
            .collect()
    }

    pub fn degree(&self) -> usize {
        self.coefficients.len() - 1
    }
}

/// Decodes arbitrary bytes into a share set. The format, byte by byte:
///
/// - `param`: the evaluation point or threshold, as is (so 0 and values above the share
///   count occur).
/// - `shape`: bits 0–2 the share count modulo 7 (0 to 6 shares); bit 7 selects a
///   *generated* set (below).
/// - `len`: the common length modulo 17 (0 to 16 bytes).
/// - Raw sets: for each share an x byte (as is: 0 and duplicates occur), a length byte
///   (if its high nibble is 0xf the share gets the low nibble as its own length instead
///   of the common one), then that many y bytes.
/// - Generated sets: a degree byte (modulo 6), the coefficients (degree + 1 rows of
///   `len` bytes), then per share an x byte, a length byte as above and a damage byte
///   (non-zero: one y byte is flipped), and the y values are the polynomial's values.
///   Random bytes almost never lie on a low-degree polynomial; this makes consistent
///   and nearly consistent sets common.
pub fn decode(data: &[u8]) -> Input {
    let mut r = Reader { data, pos: 0 };
    let param = r.byte();
    let shape = r.byte();
    let count = usize::from(shape & 0x07) % 7;
    let len = usize::from(r.byte() % 17);
    let own_len = |b: u8| {
        if b & 0xf0 == 0xf0 {
            usize::from(b & 0x0f)
        } else {
            len
        }
    };
    if shape & 0x80 == 0 {
        let shares = (0..count)
            .map(|_| {
                let x = r.byte();
                let share_len = own_len(r.byte());
                (x, r.bytes(share_len))
            })
            .collect();
        return Input {
            param,
            shares,
            polynomial: None,
        };
    }
    let degree = usize::from(r.byte() % 6);
    let coefficients: Vec<Vec<u8>> = (0..=degree).map(|_| r.bytes(len)).collect();
    let mut polynomial = Polynomial {
        coefficients,
        damaged: Vec::new(),
    };
    let mut shares = Vec::new();
    for _ in 0..count {
        let x = r.byte();
        let share_len = own_len(r.byte());
        let damage = r.byte();
        let mut y = polynomial.eval(x);
        y.resize(share_len, 0x5a);
        let damaged = damage != 0 && !y.is_empty();
        if damaged {
            let at = usize::from(damage) % y.len();
            y[at] ^= damage;
        }
        polynomial.damaged.push(damaged);
        shares.push((x, y));
    }
    Input {
        param,
        shares,
        polynomial: Some(polynomial),
    }
}

impl Input {
    /// The share set as `svault` takes it.
    pub fn to_shares(&self) -> Vec<Share> {
        self.shares
            .iter()
            .map(|(x, y)| Share::new(*x, y.clone()))
            .collect()
    }

    /// Whether this is a generated set whose shares are all undamaged and full length.
    fn clean_polynomial(&self) -> Option<&Polynomial> {
        let p = self.polynomial.as_ref()?;
        let len = p.coefficients[0].len();
        let clean =
            !p.damaged.iter().any(|&d| d) && self.shares.iter().all(|(_, y)| y.len() == len);
        clean.then_some(p)
    }
}

// ---------------------------------------------------------------------------------------
// The reference.
// ---------------------------------------------------------------------------------------

/// Product in GF(2^8) mod 0x11b: carry-less schoolbook multiply, then reduction bit by
/// bit from the top.
pub fn ref_mul(a: u8, b: u8) -> u8 {
    let mut product: u16 = 0;
    for i in 0..8 {
        if (b >> i) & 1 == 1 {
            product ^= u16::from(a) << i;
        }
    }
    for bit in (8..16).rev() {
        if (product >> bit) & 1 == 1 {
            product ^= 0x11b << (bit - 8);
        }
    }
    product as u8
}

/// Inverse by search; `a` must be non-zero.
pub fn ref_inv(a: u8) -> u8 {
    (1..=255u8)
        .find(|&b| ref_mul(a, b) == 1)
        .expect("every non-zero element has an inverse")
}

/// The value at `at` of the polynomial through `points` (distinct x, equal lengths),
/// straight from Lagrange's formula: Σ_j y_j Π_{m≠j} (at − x_m) / (x_j − x_m).
pub fn ref_interpolate(points: &[(u8, &[u8])], at: u8) -> Vec<u8> {
    let len = points.first().map_or(0, |(_, y)| y.len());
    let mut out = vec![0u8; len];
    for (j, &(xj, yj)) in points.iter().enumerate() {
        let mut basis = 1u8;
        for (m, &(xm, _)) in points.iter().enumerate() {
            if m != j {
                basis = ref_mul(basis, ref_mul(at ^ xm, ref_inv(xj ^ xm)));
            }
        }
        for i in 0..len {
            out[i] ^= ref_mul(basis, yj[i]);
        }
    }
    out
}

/// Whether all `points` lie on one polynomial of degree below `t`: the one through the
/// first `t` of them (any `t` points with distinct x determine it).
pub fn ref_on_one_polynomial(points: &[(u8, &[u8])], t: usize) -> bool {
    if points.len() <= t {
        return true;
    }
    let base = &points[..t];
    points[t..]
        .iter()
        .all(|&(x, y)| ref_interpolate(base, x) == y)
}

/// The problems of a share set's public shape, each as the error it should produce.
/// `at` is the evaluation point, if any. Empty when the set is valid.
fn shape_problems(shares: &[(u8, Vec<u8>)], at: Option<u8>) -> Vec<Error> {
    let mut problems = Vec::new();
    let Some((_, first)) = shares.first() else {
        return vec![Error::NoShares];
    };
    if first.is_empty() {
        problems.push(Error::EmptySecret);
    }
    for (i, (x, y)) in shares.iter().enumerate() {
        if y.len() != first.len() {
            problems.push(Error::UnequalLengths {
                x: *x,
                len: y.len(),
                expected: first.len(),
            });
        }
        if shares[..i].iter().any(|(other, _)| other == x) {
            problems.push(Error::DuplicateX { x: *x });
        }
        if Some(*x) == at {
            problems.push(Error::ShareAtEvaluationPoint { x: *x });
        }
    }
    problems
}

fn points(shares: &[(u8, Vec<u8>)]) -> Vec<(u8, &[u8])> {
    shares.iter().map(|(x, y)| (*x, y.as_slice())).collect()
}

// ---------------------------------------------------------------------------------------
// The checks, one per target. Each panics on a disagreement.
// ---------------------------------------------------------------------------------------

/// `shamir::interpolate` at `at` (or `combine` when `combine` is set, at 0) against the
/// reference: an error exactly when the shape is invalid, and then one of its actual
/// problems; otherwise the reference's value, and the polynomial's for a clean
/// generated set that has enough shares.
fn check_interpolation(input: &Input, at: u8, combine: bool) {
    let shares = input.to_shares();
    let result = if combine {
        shamir::combine(&shares)
    } else {
        shamir::interpolate(&shares, at)
    };
    let problems = shape_problems(&input.shares, Some(at));
    match result {
        Err(e) => assert!(
            problems.contains(&e),
            "refused with {e:?}, but the set's problems are {problems:?}"
        ),
        Ok(value) => {
            assert!(problems.is_empty(), "accepted a set with {problems:?}");
            let expected = ref_interpolate(&points(&input.shares), at);
            assert_eq!(&value[..], &expected[..], "differs from the reference");
            if let Some(p) = input.clean_polynomial()
                && input.shares.len() > p.degree()
            {
                assert_eq!(
                    &value[..],
                    &p.eval(at)[..],
                    "differs from the generating polynomial"
                );
            }
        }
    }
}

/// The `shamir_combine` target.
pub fn check_combine(data: &[u8]) {
    check_interpolation(&decode(data), 0, true);
}

/// The `shamir_interpolate` target.
pub fn check_interpolate(data: &[u8]) {
    let input = decode(data);
    check_interpolation(&input, input.param, false);
}

/// The `shamir_consistency` target: `check_consistency` against brute force.
///
/// - An error exactly when the shape is invalid or the threshold is out of range.
/// - `Consistent` exactly when all shares lie on one polynomial of degree < t.
/// - `Deviating`: more than t agreeing shares, which do lie on one polynomial, no
///   deviant lies on it, counts and `unique` as documented.
/// - `Undetermined`: the set is indeed not consistent.
pub fn check_consistency(data: &[u8]) {
    let input = decode(data);
    let threshold = input.param;
    let shares = input.to_shares();
    let result = shamir::check_consistency(&shares, threshold);
    let mut problems = shape_problems(&input.shares, None);
    let n = input.shares.len();
    let t = usize::from(threshold);
    if t == 0 || t > n {
        problems.push(Error::ThresholdOutOfRange {
            threshold,
            count: n,
        });
    }
    let verdict = match result {
        Err(e) => {
            assert!(
                problems.contains(&e),
                "refused with {e:?}, but the set's problems are {problems:?}"
            );
            return;
        }
        Ok(verdict) => verdict,
    };
    assert!(problems.is_empty(), "accepted a set with {problems:?}");
    let all = points(&input.shares);
    let consistent = ref_on_one_polynomial(&all, t);
    if let Some(p) = input.clean_polynomial()
        && p.degree() < t
    {
        assert!(
            consistent,
            "reference: a clean generated set is inconsistent"
        );
    }
    match verdict {
        Consistency::Consistent => {
            assert!(consistent, "reported consistent, but the shares are not")
        }
        Consistency::Deviating {
            deviants,
            agreeing,
            unique,
        } => {
            assert!(!consistent, "reported deviants in a consistent set");
            assert!(!deviants.is_empty(), "deviating without deviants");
            assert_eq!(agreeing + deviants.len(), n, "counts do not add up");
            assert!(agreeing > t, "only {agreeing} agreeing at threshold {t}");
            assert_eq!(unique, 2 * agreeing >= n + t, "`unique` is wrong");
            let (good, bad): (Vec<_>, Vec<_>) =
                all.iter().partition(|(x, _)| !deviants.contains(x));
            assert_eq!(bad.len(), deviants.len(), "a deviant is not in the set");
            let order: Vec<u8> = bad.iter().map(|(x, _)| *x).collect();
            assert_eq!(order, deviants, "deviants not in input order");
            assert!(
                ref_on_one_polynomial(&good, t),
                "the agreeing shares do not lie on one polynomial"
            );
            for (x, y) in bad {
                assert_ne!(
                    &ref_interpolate(&good[..t], x)[..],
                    y,
                    "deviant {x} lies on the agreeing polynomial"
                );
            }
        }
        Consistency::Undetermined => {
            assert!(!consistent, "reported undetermined for a consistent set")
        }
        other => panic!("unknown verdict {other:?}"),
    }
}
