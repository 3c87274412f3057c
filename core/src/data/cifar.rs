//! CIFAR-10 and CIFAR-100 in both published layouts (binary batches and python pickles), and
//! the downsampled ImageNet16 pickles, of which labels 1..120 are kept as classes 0..119.
//!
//! `dir` may be the folder holding the files or one above it with the published folder names
//! (cifar-10-batches-bin, cifar-10-batches-py, cifar-100-binary, cifar-100-python, ImageNet16).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use tch::Tensor;

use super::pickle;
use crate::data::{Dataset, Split};

const PIXELS: usize = 3 * 32 * 32;

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The first candidate folder that holds every file of `names`.
fn find(dir: &Path, subdirs: &[&str], names: &[String]) -> Option<PathBuf> {
    std::iter::once(dir.to_path_buf())
        .chain(subdirs.iter().map(|s| dir.join(s)))
        .find(|d| names.iter().all(|n| d.join(n).is_file()))
}

fn split_from(images: Vec<u8>, labels: Vec<i64>, side: i64) -> Split {
    let n = labels.len() as i64;
    Split {
        images: Tensor::from_slice(&images).view([n, 3, side, side]),
        labels: Tensor::from_slice(&labels),
        scale: 255.0,
    }
}

pub fn load(dataset: Dataset, dir: &Path, train: bool) -> Result<Split> {
    let c10 = dataset == Dataset::Cifar10;
    let (bin_dir, bin_files, label_bytes) = if c10 {
        let files = if train {
            (1..=5).map(|i| format!("data_batch_{i}.bin")).collect()
        } else {
            vec!["test_batch.bin".to_string()]
        };
        ("cifar-10-batches-bin", files, 1)
    } else {
        ("cifar-100-binary", vec![if train { "train.bin" } else { "test.bin" }.to_string()], 2)
    };
    if let Some(d) = find(dir, &[bin_dir], &bin_files) {
        return binary(
            &d,
            &bin_files,
            label_bytes,
            dataset.num_classes(),
            if train { 50_000 } else { 10_000 },
        );
    }
    let (py_dir, py_files, label_key) = if c10 {
        let files = if train {
            (1..=5).map(|i| format!("data_batch_{i}")).collect()
        } else {
            vec!["test_batch".to_string()]
        };
        ("cifar-10-batches-py", files, "labels")
    } else {
        ("cifar-100-python", vec![if train { "train" } else { "test" }.to_string()], "fine_labels")
    };
    if let Some(d) = find(dir, &[py_dir], &py_files) {
        return python(
            &d,
            &py_files,
            label_key,
            dataset.num_classes(),
            if train { 50_000 } else { 10_000 },
        );
    }
    bail!(
        "no {} {} files in {}: expected {} (binary, in {} or the folder itself) or {} (python, in {})",
        dataset.name(),
        if train { "training" } else { "test" },
        dir.display(),
        bin_files.join(", "),
        bin_dir,
        py_files.join(", "),
        py_dir
    )
}

/// Binary batches: records of label byte(s) then 3,072 pixel bytes (R, G, B planes).
fn binary(
    dir: &Path,
    files: &[String],
    label_bytes: usize,
    classes: i64,
    expected: usize,
) -> Result<Split> {
    let record = label_bytes + PIXELS;
    let (mut images, mut labels) =
        (Vec::with_capacity(expected * PIXELS), Vec::with_capacity(expected));
    for f in files {
        let path = dir.join(f);
        let bytes = read(&path)?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            bail!(
                "{}: {} bytes is not a whole number of {record}-byte records",
                path.display(),
                bytes.len()
            );
        }
        for (i, rec) in bytes.chunks_exact(record).enumerate() {
            let label = rec[label_bytes - 1] as i64; // CIFAR-100: coarse then fine label
            if label >= classes {
                bail!(
                    "{}: record {i} has label {label}, expected 0..{}",
                    path.display(),
                    classes - 1
                );
            }
            labels.push(label);
            images.extend_from_slice(&rec[label_bytes..]);
        }
    }
    Ok(split_from(images, labels, 32))
}

fn pickled_batch(path: &Path, label_key: &str, row: usize) -> Result<(Vec<u8>, Vec<i64>)> {
    let v = pickle::parse(&read(path)?)
        .with_context(|| format!("{}: not a readable pickle", path.display()))?;
    let data = v.get("data").ok_or_else(|| anyhow!("{}: no 'data' entry", path.display()))?;
    let arr = pickle::as_array(data).with_context(|| format!("{}: 'data'", path.display()))?;
    if arr.dtype != "u1" || arr.shape.len() != 2 || arr.shape[1] as usize != row {
        bail!(
            "{}: 'data' is {} of shape {:?}, expected uint8 of shape (N, {row})",
            path.display(),
            arr.dtype,
            arr.shape
        );
    }
    if arr.data.len() != arr.shape[0] as usize * row {
        bail!(
            "{}: 'data' holds {} bytes for shape {:?}",
            path.display(),
            arr.data.len(),
            arr.shape
        );
    }
    let labels = v
        .get(label_key)
        .and_then(pickle::Value::as_int_list)
        .ok_or_else(|| anyhow!("{}: no '{label_key}' list of integers", path.display()))?;
    if labels.len() != arr.shape[0] as usize {
        bail!("{}: {} labels for {} images", path.display(), labels.len(), arr.shape[0]);
    }
    Ok((arr.data, labels))
}

fn python(
    dir: &Path,
    files: &[String],
    label_key: &str,
    classes: i64,
    expected: usize,
) -> Result<Split> {
    let (mut images, mut labels) =
        (Vec::with_capacity(expected * PIXELS), Vec::with_capacity(expected));
    for f in files {
        let path = dir.join(f);
        let (data, l) = pickled_batch(&path, label_key, PIXELS)?;
        if let Some((i, bad)) = l.iter().enumerate().find(|(_, &x)| !(0..classes).contains(&x)) {
            bail!("{}: image {i} has label {bad}, expected 0..{}", path.display(), classes - 1);
        }
        images.extend(data);
        labels.extend(l);
    }
    Ok(split_from(images, labels, 32))
}

/// ImageNet16: `train_data_batch_1..10` and `val_data`, pickled dicts of 'data' (N x 768 uint8)
/// and 'labels' 1..1000; images labelled 1..120 are kept, as classes 0..119.
pub fn load_imagenet16(dir: &Path, train: bool) -> Result<Split> {
    let files: Vec<String> = if train {
        (1..=10).map(|i| format!("train_data_batch_{i}")).collect()
    } else {
        vec!["val_data".into()]
    };
    let d = find(dir, &["ImageNet16", "imagenet16-120", "ImageNet16-120"], &files).ok_or_else(
        || anyhow!("no ImageNet16 files in {}: expected {}", dir.display(), files.join(", ")),
    )?;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for f in &files {
        let path = d.join(f);
        let (data, l) = pickled_batch(&path, "labels", 3 * 16 * 16)?;
        for (i, &label) in l.iter().enumerate() {
            if !(1..=1000).contains(&label) {
                bail!("{}: image {i} has label {label}, expected 1..1000", path.display());
            }
            if label <= 120 {
                labels.push(label - 1);
                images.extend_from_slice(&data[i * 768..(i + 1) * 768]);
            }
        }
    }
    if labels.is_empty() {
        bail!("{}: no image has a label in 1..120", d.display());
    }
    Ok(split_from(images, labels, 16))
}
