//! Device names as the command line and SQL take them: `auto` (CUDA when libtorch sees one,
//! else the CPU), `cpu`, `cuda` (the first GPU) or `cuda:N`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    #[default]
    Auto,
    Cpu,
    /// A GPU by index; None is `cuda`, the first.
    Cuda(Option<usize>),
}

impl DeviceSpec {
    pub fn parse(s: &str) -> anyhow::Result<DeviceSpec> {
        Ok(match s {
            "auto" => DeviceSpec::Auto,
            "cpu" => DeviceSpec::Cpu,
            "cuda" => DeviceSpec::Cuda(None),
            _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => DeviceSpec::Cuda(Some(n)),
                _ => anyhow::bail!("'{s}' is not a device (auto, cpu, cuda, cuda:N)"),
            },
        })
    }
}

impl DeviceSpec {
    /// `parse` for clap's `value_parser`.
    pub fn parse_arg(s: &str) -> Result<DeviceSpec, String> {
        DeviceSpec::parse(s).map_err(|e| e.to_string())
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(None) => f.write_str("cuda"),
            DeviceSpec::Cuda(Some(n)) => write!(f, "cuda:{n}"),
        }
    }
}

impl std::str::FromStr for DeviceSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<DeviceSpec> {
        DeviceSpec::parse(s)
    }
}

impl TryFrom<String> for DeviceSpec {
    type Error = anyhow::Error;
    fn try_from(s: String) -> anyhow::Result<DeviceSpec> {
        DeviceSpec::parse(&s)
    }
}

impl From<DeviceSpec> for String {
    fn from(d: DeviceSpec) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ["auto", "cpu", "cuda", "cuda:0", "cuda:3"] {
            assert_eq!(DeviceSpec::parse(s).unwrap().to_string(), s);
        }
        for s in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            let e = DeviceSpec::parse(s).unwrap_err().to_string();
            assert!(e.contains(&format!("'{s}'")), "{e}");
        }
    }
}
