//! `named_enum!`: a closed list of names as a Rust enum, with its one table of names, parsing
//! with an error that lists the valid names, and serde as the name (so JSON between the
//! processes carries the same strings SQL users type).

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $name:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            /// Every value, in the order of the list.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            pub fn parse(name: &str) -> anyhow::Result<$ty> {
                $ty::ALL.iter().copied().find(|x| x.name() == name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown {} '{}' (expected one of {})",
                        $what,
                        name,
                        $crate::names($ty::ALL, $ty::name)
                    )
                })
            }
        }

        impl $ty {
            /// `parse` for clap's `value_parser`.
            pub fn parse_arg(name: &str) -> Result<$ty, String> {
                $ty::parse(name).map_err(|e| e.to_string())
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = anyhow::Error;
            fn from_str(s: &str) -> anyhow::Result<$ty> {
                $ty::parse(s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let s = String::deserialize(d)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
