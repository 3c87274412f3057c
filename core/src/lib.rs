//! robbench-core: the NAS-Bench-201 network, the data sets, the attacks and the trainer, on
//! libtorch. No database in here, so a small binary built on
//! it carries to a GPU machine and the numerics are tested on their own.

pub mod attack;
pub mod checkpoint;
pub mod data;
pub mod evaluate;
pub mod model;
pub mod rng;
pub mod scores;
pub use robbench_space as space;
pub mod train;
pub mod worker;
