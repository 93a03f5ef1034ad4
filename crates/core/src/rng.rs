//! The one source of randomness: a seeded xoshiro256** generator.
//!
//! Identifiers, placement tie-breaks and simulated behaviour all draw from it, so a seed replays a
//! run exactly. It never reads OS entropy.

/// A small, fast, seedable PRNG (xoshiro256**), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        let mut sm = seed;
        let state = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `0..bound` (`bound > 0`), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "Rng::below needs a positive bound");
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // 53 random bits scaled into [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64;
        v / (1u64 << 53) as f64
    }

    /// `len` lowercase hex digits.
    pub fn hex(&mut self, len: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..len)
            .map(|_| char::from(HEX[(self.next_u64() & 0xf) as usize]))
            .collect()
    }

    /// `len` characters from `alphabet`.
    pub fn string_from(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
            .collect()
    }

    /// `len` decimal digits, the first non-zero.
    pub fn digits(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        for i in 0..len {
            let d = if i == 0 { 1 + self.below(9) } else { self.below(10) };
            s.push(char::from(b'0' + d as u8));
        }
        s
    }

    /// A random UUID (version 4 layout) from this generator.
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::seeded(42);
        let mut b = Rng::seeded(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::seeded(43).next_u64(), xs[0]);
    }

    #[test]
    fn helpers_have_the_right_shape() {
        let mut r = Rng::seeded(7);
        assert_eq!(r.hex(32).len(), 32);
        let d = r.digits(19);
        assert_eq!(d.len(), 19);
        assert!(!d.starts_with('0'));
        let u = r.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        for _ in 0..1000 {
            assert!(r.below(6) < 6);
            let f = r.unit();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
