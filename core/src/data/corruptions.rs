//! CIFAR-10-C and CIFAR-100-C (Hendrycks and Dietterich, ICLR 2019) in their published layout:
//! a folder with one `<corruption>.npy` per corruption, 50,000 uint8 images of 32x32x3 (HWC),
//! severities 1..5 in consecutive blocks of 10,000 (each block the test set in order), and
//! `labels.npy` with the 50,000 labels. Only the block asked for is read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{Kind, Tensor};

use super::Split;

pub use robbench_vocab::Corruption;

pub const PER_SEVERITY: i64 = Corruption::PER_SEVERITY;
const IMAGES: i64 = 5 * PER_SEVERITY;

/// An opened .npy file: its element type, shape, and where its data start.
struct Npy {
    file: File,
    descr: String,
    shape: Vec<i64>,
    data_start: u64,
}

fn open_npy(path: &Path) -> Result<Npy> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)
        .with_context(|| format!("{}: too short for a .npy file", path.display()))?;
    if &magic[..6] != b"\x93NUMPY" {
        bail!("{}: not a .npy file (no \\x93NUMPY magic)", path.display());
    }
    let header_len = if magic[6] == 1 {
        let mut b = [0u8; 2];
        file.read_exact(&mut b)?;
        u16::from_le_bytes(b) as usize
    } else {
        let mut b = [0u8; 4];
        file.read_exact(&mut b)?;
        u32::from_le_bytes(b) as usize
    };
    let mut header = vec![0u8; header_len];
    file.read_exact(&mut header)
        .with_context(|| format!("{}: header cut short", path.display()))?;
    let header = String::from_utf8_lossy(&header).to_string();
    let field = |key: &str| -> Option<String> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest.to_string())
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\'').and_then(|r| r.split('\'').next()).map(str::to_string));
    let fortran = field("fortran_order").map(|r| r.starts_with("True"));
    let shape = field("shape").and_then(|r| {
        let inner = r.strip_prefix('(')?.split(')').next()?.to_string();
        inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<i64>().ok())
            .collect::<Option<Vec<_>>>()
    });
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        bail!("{}: unreadable .npy header {header:?}", path.display());
    };
    if fortran {
        bail!("{}: Fortran-ordered arrays are not the published layout", path.display());
    }
    let data_start = file.stream_position()?;
    Ok(Npy { file, descr, shape, data_start })
}

/// Severity `severity` (1..5) of one corruption, as an evaluation split (the first `n` images
/// of the block when given).
pub fn load(dir: &Path, corruption: &str, severity: i64, n: Option<i64>) -> Result<Split> {
    let corruption = Corruption::parse(corruption)?;
    if !Corruption::SEVERITIES.contains(&severity) {
        bail!("severity must be 1..5, got {severity}");
    }
    let n = n.unwrap_or(PER_SEVERITY).min(PER_SEVERITY);
    let path = dir.join(format!("{corruption}.npy"));
    let mut images = open_npy(&path)?;
    if images.descr != "|u1" && images.descr != "<u1" {
        bail!("{}: images must be uint8 ('|u1'), found '{}'", path.display(), images.descr);
    }
    if images.shape != [IMAGES, 32, 32, 3] {
        bail!(
            "{}: shape {:?}, expected (50000, 32, 32, 3): 10,000 images per severity 1..5",
            path.display(),
            images.shape
        );
    }
    let size = images.file.metadata()?.len();
    let image_bytes = 32 * 32 * 3;
    if size < images.data_start + (IMAGES * image_bytes) as u64 {
        bail!(
            "{}: {} bytes of data, the header promises {}",
            path.display(),
            size - images.data_start,
            IMAGES * image_bytes
        );
    }
    let first = (severity - 1) * PER_SEVERITY;
    let mut buf = vec![0u8; (n * image_bytes) as usize];
    images.file.seek(SeekFrom::Start(images.data_start + (first * image_bytes) as u64))?;
    images.file.read_exact(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
    let x = Tensor::from_slice(&buf).view([n, 32, 32, 3]).permute([0, 3, 1, 2]).contiguous();

    let lpath = dir.join("labels.npy");
    let mut labels = open_npy(&lpath)?;
    let width = match labels.descr.as_str() {
        "|u1" | "<u1" => 1,
        "<i8" | "<u8" => 8,
        "<i4" | "<u4" => 4,
        other => bail!("{}: labels must be integers, found '{other}'", lpath.display()),
    };
    if labels.shape != [IMAGES] {
        bail!("{}: shape {:?}, expected (50000,)", lpath.display(), labels.shape);
    }
    let mut lbuf = vec![0u8; (n * width) as usize];
    labels.file.seek(SeekFrom::Start(labels.data_start + (first * width) as u64))?;
    labels
        .file
        .read_exact(&mut lbuf)
        .with_context(|| format!("{}: fewer labels than the header promises", lpath.display()))?;
    let y: Vec<i64> = lbuf
        .chunks(width as usize)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            i64::from_le_bytes(b)
        })
        .collect();
    Ok(Split { images: x, labels: Tensor::from_slice(&y).to_kind(Kind::Int64), scale: 255.0 })
}
