//! A small seeded generator for shuffling and augmentation, so a seed fixes the data order
//! independently of libtorch's generator, and a resumed run can re-derive any epoch's stream.

/// The random streams a seed drives, each derived on its own so that none depends on how far
/// another advanced. A stream's number is part of every recorded result: never renumber one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Training: the order of the training images, per epoch.
    DataOrder = 0,
    /// Training: crops and flips, per epoch.
    Augmentation = 1,
    /// Training: the adversarial training attack's random start, per epoch and step.
    TrainAttackStart = 2,
    /// Evaluation: the attacks' random starts and restarts (libtorch's generator, per column).
    EvaluationAttacks = 3,
    /// Scores: what a score draws (libtorch's generator, per architecture).
    Scores = 4,
    /// Scores: Gaussian input images (`source := 'noise'`).
    NoiseImages = 5,
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for permutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The generator of one stream of one epoch.
    pub fn derive(seed: u64, stream: Stream, epoch: u64) -> Rng {
        let mut r = Rng::new(seed);
        r.0 ^= (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        r.next_u64();
        r.0 ^= epoch.wrapping_mul(0xABC9_8388_FB8F_AC03);
        r.next_u64();
        r
    }

    /// The generator of one stream of one step of one epoch.
    pub fn derive_step(seed: u64, stream: Stream, epoch: u64, step: u64) -> Rng {
        let mut r = Rng::derive(seed, stream, epoch);
        r.0 ^= step.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        r.next_u64();
        r
    }

    /// Seeds libtorch's generator from this stream: the next value's top 63 bits, so the seed is
    /// non-negative.
    pub fn seed_torch(mut self) {
        tch::manual_seed((self.next_u64() >> 1) as i64);
    }

    /// Seeds libtorch's generator by the first rule: the next value as i64 shifted right with
    /// its sign, so half the seeds are negative. Evaluation and scores keep it because their
    /// recorded results (and caches) were computed with it.
    pub fn seed_torch_first_rule(mut self) {
        tch::manual_seed(self.next_u64() as i64 >> 1);
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
        let order = |epoch| Rng::derive(1, Stream::DataOrder, epoch).next_u64();
        assert_ne!(order(3), order(4));
        assert_ne!(order(3), Rng::derive(1, Stream::Augmentation, 3).next_u64());
    }
}
