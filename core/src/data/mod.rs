//! Data sets of SPEC section 6, their files in the published layouts, and the training
//! augmentation of the release (random crop with zero padding, horizontal flip).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use tch::{Device, Kind, Tensor};

use crate::rng::Rng;
pub use robbench_vocab::{Dataset, Normalization};

pub mod cifar;
pub mod corruptions;
pub use robbench_vocab::pickle;

/// The digits set ships inside the binary: it is small and the tests and demo need it offline.
const DIGITS_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");

/// Images as stored (uint8, N x 3 x H x W) with the divisor that maps them to [0, 1].
pub struct Split {
    pub images: Tensor,
    pub labels: Tensor,
    pub scale: f64,
}

impl Split {
    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` images (evaluation takes `n_eval` from the front, in file order).
    pub fn head(&self, n: i64) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images.narrow(0, 0, n),
            labels: self.labels.narrow(0, 0, n),
            scale: self.scale,
        }
    }

    /// Images `idx` in [0, 1] as float on `device`, with their labels.
    pub fn batch(&self, idx: &Tensor, device: Device) -> (Tensor, Tensor) {
        let x =
            self.images.index_select(0, idx).to_device(device).to_kind(Kind::Float) / self.scale;
        (x, self.labels.index_select(0, idx).to_device(device))
    }

    /// A contiguous range, for evaluation.
    pub fn range(&self, start: i64, len: i64, device: Device) -> (Tensor, Tensor) {
        let x =
            self.images.narrow(0, start, len).to_device(device).to_kind(Kind::Float) / self.scale;
        (x, self.labels.narrow(0, start, len).to_device(device))
    }
}

/// The training augmentation: per image a random crop of the zero-padded image and, where the
/// data set has it, a horizontal flip with probability 1/2. Deterministic given `rng`.
pub fn augment(x: &Tensor, dataset: Dataset, rng: &mut Rng) -> Tensor {
    let p = dataset.crop_padding();
    let size = x.size();
    let (n, h, w) = (size[0], size[2], size[3]);
    let padded = x.constant_pad_nd([p, p, p, p]);
    let crops: Vec<Tensor> = (0..n)
        .map(|i| {
            let (dy, dx) =
                (rng.below((2 * p + 1) as u64) as i64, rng.below((2 * p + 1) as u64) as i64);
            let flip = dataset.flips() && rng.below(2) == 1;
            let img = padded.get(i).narrow(1, dy, h).narrow(2, dx, w);
            if flip {
                img.flip([2])
            } else {
                img
            }
        })
        .collect();
    Tensor::stack(&crops, 0)
}

/// Where data files are looked for: `data_dir`, else $ROBBENCH_DATA.
pub fn data_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("ROBBENCH_DATA").map(PathBuf::from))
}

/// Loads the training split (`train`) or the evaluation split of a data set.
pub fn load(dataset: Dataset, dir: Option<&Path>, train: bool) -> Result<Split> {
    if dataset == Dataset::Digits {
        return digits(train);
    }
    let dir = data_dir(dir).ok_or_else(|| {
        anyhow!(
            "no data folder for {}: pass data_dir := '...' or set ROBBENCH_DATA",
            dataset.name()
        )
    })?;
    match dataset {
        Dataset::Cifar10 | Dataset::Cifar100 => cifar::load(dataset, &dir, train),
        Dataset::ImageNet16 => cifar::load_imagenet16(&dir, train),
        Dataset::Digits => unreachable!(),
    }
}

/// SPEC section 6: row i of digits.csv.gz is an evaluation image when i % 5 == 4; pixel v of
/// 0..16 becomes v/16, copied to 3 channels.
pub fn digits(train: bool) -> Result<Split> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_GZ)
        .read_to_string(&mut text)
        .context("digits.csv.gz: not gzip text")?;
    let (mut px, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if (i % 5 == 4) == train {
            continue;
        }
        let v: Vec<u8> = line
            .split(',')
            .map(|s| s.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("digits.csv.gz line {}: not 65 integers", i + 1))?;
        if v.len() != 65 || v[..64].iter().any(|&p| p > 16) || v[64] > 9 {
            bail!("digits.csv.gz line {}: expected 64 pixels in 0..16 and a label in 0..9", i + 1);
        }
        for _ in 0..3 {
            px.extend_from_slice(&v[..64]);
        }
        labels.push(v[64] as i64);
    }
    let n = labels.len() as i64;
    Ok(Split {
        images: Tensor::from_slice(&px).view([n, 3, 8, 8]),
        labels: Tensor::from_slice(&labels),
        scale: 16.0,
    })
}
