//! robbench's vocabulary: every list that both the database side (`robbench`, no libtorch) and
//! the compute side (`robbench-core` and `robbench-worker`) need, defined once, and the typed
//! protocol between the two processes.
//!
//! - [`Dataset`]: the data sets, their sizes, resolutions and normalisations (SPEC section 6);
//! - [`Attack`]: the accuracy columns of `metrics` and the attack behind each;
//! - [`Score`] and [`ScoreAttack`]: training-free score names;
//! - [`Corruption`]: the CIFAR-10-C / CIFAR-100-C corruptions;
//! - [`Protocol`]: a training protocol, the paper's defaults and its one validation;
//! - [`DeviceSpec`]: device names (`auto`, `cpu`, `cuda`, `cuda:N`);
//! - [`worker`]: the requests robbench sends to robbench-worker and the results it reads back;
//! - [`durable`]: the one way files that other processes read are written;
//! - [`companion`]: what other benchmarks of the cells measured: attacks on standard training,
//!   hardware devices, zero-cost proxies;
//! - [`pickle`]: Python pickles read without Python (the data sets' and releases' files);
//! - [`Stop`]: a request to stop at the next step boundary, passed down to the work.

#[macro_use]
mod named;

pub mod attack;
pub mod companion;
pub mod corruption;
pub mod dataset;
pub mod device;
pub mod durable;
pub mod pickle;
pub mod progress;
pub mod protocol;
pub mod score;
pub mod stop;
pub mod worker;

pub use attack::{Attack, AttackKind};
pub use companion::{HwCost, HwDevice, Proxy, StandardAttack};
pub use corruption::Corruption;
pub use dataset::{Dataset, Normalization};
pub use device::DeviceSpec;
pub use protocol::{Dtype, Protocol, TrainAttack};
pub use score::{Score, ScoreAttack, ScoreInputs};
pub use stop::Stop;

/// The names of a list, joined for an error message.
pub fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|&x| name(x)).collect::<Vec<_>>().join(", ")
}
