//! Checkpoints as safetensors with the tensor names of NAS-Bench-201's PyTorch state_dict, so
//! weights move both ways: `num_batches_tracked` (which PyTorch's BatchNorm keeps and tch's does
//! not) is written on export and ignored on import.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use robbench_vocab::durable;
use tch::{nn, Kind, Tensor};

/// Writes every variable of `vs`, plus `<bn>.num_batches_tracked` for each BatchNorm.
pub fn save(vs: &nn::VarStore, path: &Path, num_batches_tracked: i64) -> Result<()> {
    let mut named: Vec<(String, Tensor)> =
        vs.variables().into_iter().map(|(n, t)| (n, t.to_device(tch::Device::Cpu))).collect();
    let bns: Vec<String> = named
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(".running_mean").map(str::to_string))
        .collect();
    for bn in bns {
        named.push((
            format!("{bn}.num_batches_tracked"),
            Tensor::from(num_batches_tracked).to_kind(Kind::Int64),
        ));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let tmp = durable::temporary_sibling(path);
    Tensor::write_safetensors(&named, &tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    durable::commit(&tmp, path)
}

/// Loads weights into `vs`; every variable must be present with its shape.
pub fn load(vs: &mut nn::VarStore, path: &Path) -> Result<()> {
    let tensors = Tensor::read_safetensors(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let map: HashMap<String, Tensor> = tensors.into_iter().collect();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, var) in &vars {
        let Some(src) = map.get(name) else {
            bail!(
                "{}: no tensor '{name}' (is it a checkpoint of this architecture?)",
                path.display()
            )
        };
        if src.size() != var.size() {
            bail!("{}: '{name}' has shape {:?}, the network expects {:?} (is it a checkpoint of this architecture and data set?)", path.display(), src.size(), var.size());
        }
    }
    let known: std::collections::HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(extra) =
        map.keys().find(|k| !known.contains(k.as_str()) && !k.ends_with(".num_batches_tracked"))
    {
        bail!("{}: tensor '{extra}' belongs to no layer of this architecture", path.display());
    }
    tch::no_grad(|| {
        for (name, var) in vars {
            let mut var = var;
            var.copy_(&map[&name].to_kind(var.kind()).to_device(var.device()));
        }
    });
    Ok(())
}
