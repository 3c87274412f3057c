//! Training protocols as the `runs` table records them: every setting its own column. The
//! protocol itself (the paper's values, validation, naming) is `robbench_vocab::Protocol`.

pub use robbench_vocab::Protocol;

use crate::store::rows::Row;

/// The protocol's columns of a `runs` row, under `name` (imported runs keep their release's
/// name even where a setting, such as the training images, is spelled out).
pub fn row(name: &str, p: &Protocol) -> Row {
    Row::new()
        .set("protocol", name)
        .set("epochs", p.epochs as i64)
        .set("batch_size", p.batch_size as i64)
        .set("lr_max", p.lr_max)
        .set("momentum", p.momentum)
        .set("weight_decay", p.weight_decay)
        .set("train_attack", p.train_attack.name())
        .set("train_eps", p.train_eps)
        .set("train_alpha", p.train_alpha)
        .set("train_steps", p.train_steps as i64)
        .set("n_train", p.n_train.map(|n| n as i64))
        .set("train_beta", p.train_beta)
        .set("dtype", p.dtype.name())
}
