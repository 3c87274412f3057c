//! A small seeded generator for shuffling and augmentation, so a seed fixes the data order
//! independently of libtorch's generator, and a resumed run can re-derive any epoch's stream.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for permutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator for one purpose of one epoch, independent of how far others have advanced.
    pub fn derive(seed: u64, stream: u64, epoch: u64) -> Rng {
        let mut r = Rng::new(seed);
        r.0 ^= stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        r.next_u64();
        r.0 ^= epoch.wrapping_mul(0xABC9_8388_FB8F_AC03);
        r.next_u64();
        r
    }

    /// A generator for one purpose of one step of one epoch.
    pub fn derive_step(seed: u64, stream: u64, epoch: u64, step: u64) -> Rng {
        let mut r = Rng::derive(seed, stream, epoch);
        r.0 ^= step.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        r.next_u64();
        r
    }

    /// A seed for libtorch's generator (which takes a non-negative i64).
    pub fn seed(mut self) -> i64 {
        (self.next_u64() >> 1) as i64
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniformly random permutation of 0..n (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<i64> {
        let mut v: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_permutations_and_seeded() {
        let p = Rng::new(7).permutation(1000);
        let mut s = p.clone();
        s.sort();
        assert_eq!(s, (0..1000).collect::<Vec<i64>>());
        assert_eq!(p, Rng::new(7).permutation(1000));
        assert_ne!(p, Rng::new(8).permutation(1000));
        assert_ne!(Rng::derive(1, 0, 3).next_u64(), Rng::derive(1, 0, 4).next_u64());
    }
}
