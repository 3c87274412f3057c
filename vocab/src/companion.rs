//! What other benchmarks of the NAS-Bench-201 cells measured (SPEC section 3, `standard` and
//! `hardware`), as the releases name it: the attacks on standard-trained networks, the devices
//! of HW-NAS-Bench and the zero-cost proxies of NAS-Bench-Suite-Zero.

named_enum! {
    /// The attacks of the `standard` table ('clean' is the unattacked accuracy, eps 0).
    pub enum StandardAttack ("attack of standard") {
        Clean = "clean",
        Fgsm = "fgsm",
        Pgd = "pgd",
        ApgdCe = "apgd-ce",
        Square = "square",
    }
}

named_enum! {
    /// HW-NAS-Bench's devices (Li et al., ICLR 2021).
    pub enum HwDevice ("hardware device") {
        /// NVIDIA Jetson TX2: latency and energy.
        EdgeGpu = "edgegpu",
        /// Raspberry Pi 4: latency.
        Raspi4 = "raspi4",
        /// Google Edge TPU: latency.
        EdgeTpu = "edgetpu",
        /// Google Pixel 3: latency.
        Pixel3 = "pixel3",
        /// The Eyeriss accelerator (simulated): latency and energy.
        Eyeriss = "eyeriss",
        /// An FPGA (simulated): latency and energy.
        Fpga = "fpga",
    }
}

named_enum! {
    /// The 13 zero-cost proxies of NAS-Bench-Suite-Zero (Krishnakumar et al., 2022).
    pub enum Proxy ("zero-cost proxy") {
        EpeNas = "epe_nas",
        Fisher = "fisher",
        Flops = "flops",
        GradNorm = "grad_norm",
        Grasp = "grasp",
        Jacov = "jacov",
        L2Norm = "l2_norm",
        Nwot = "nwot",
        Params = "params",
        Plain = "plain",
        Snip = "snip",
        Synflow = "synflow",
        Zen = "zen",
    }
}

/// The hardware costs `search` and `pareto` can limit or trade against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwCost {
    Latency,
    Energy,
}

impl HwCost {
    /// The `hardware` column.
    pub fn column(self) -> &'static str {
        match self {
            HwCost::Latency => "latency_ms",
            HwCost::Energy => "energy_mj",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HwCost::Latency => "latency",
            HwCost::Energy => "energy",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<HwCost> {
        match s {
            "latency" => Ok(HwCost::Latency),
            "energy" => Ok(HwCost::Energy),
            other => anyhow::bail!("unknown hardware cost '{other}' (expected latency or energy)"),
        }
    }
}

impl HwDevice {
    /// Whether HW-NAS-Bench measured (or simulated) the energy on this device.
    pub fn has_energy(self) -> bool {
        matches!(self, HwDevice::EdgeGpu | HwDevice::Eyeriss | HwDevice::Fpga)
    }
}
