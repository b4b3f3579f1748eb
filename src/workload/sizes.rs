//! Record-size distributions: how many bytes of data each record carries (stamp included).

use crate::scenario::units;
use rand::Rng;
use serde::Serialize;

/// A validated size distribution; sizes are data bytes including kbench's stamp.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum SizeDist {
    /// Every record has the same size.
    Fixed {
        #[serde(serialize_with = "units::ser::size")]
        value: u64,
    },
}

impl Default for SizeDist {
    fn default() -> Self {
        SizeDist::Fixed { value: 1024 }
    }
}

impl SizeDist {
    /// Reads `size = "1KiB"`, `size = 1024` or `size = { dist = "fixed", value = "1KiB" }`.
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::String(_) | toml::Value::Integer(_) => {
                Ok(SizeDist::Fixed { value: size_of(value)? })
            }
            toml::Value::Table(table) => {
                let dist = table
                    .get("dist")
                    .and_then(|d| d.as_str())
                    .ok_or("missing `dist`: say which distribution, e.g. dist = \"fixed\"")?;
                match dist {
                    "fixed" => {
                        crate::scenario::check_table_keys(table, &["dist", "value"])?;
                        let v = table
                            .get("value")
                            .ok_or("missing `value`, e.g. value = \"1KiB\"")?;
                        Ok(SizeDist::Fixed { value: size_of(v)? })
                    }
                    other => Err(format!(
                        "unknown size distribution `{other}`{}; known: fixed",
                        crate::scenario::suggest(other, &["fixed"])
                    )),
                }
            }
            _ => Err("expected a size such as \"1KiB\" or a table such as { dist = \"fixed\", value = \"1KiB\" }".into()),
        }
    }

    /// Smallest size this distribution can produce.
    pub fn min(&self) -> u64 {
        match self {
            SizeDist::Fixed { value } => *value,
        }
    }

    /// Largest size this distribution can produce.
    pub fn max(&self) -> u64 {
        match self {
            SizeDist::Fixed { value } => *value,
        }
    }

    /// Mean size, for rate and byte estimates.
    pub fn mean(&self) -> f64 {
        match self {
            SizeDist::Fixed { value } => *value as f64,
        }
    }

    /// Draws the next size.
    pub fn sample<R: Rng>(&self, _rng: &mut R) -> u64 {
        match self {
            SizeDist::Fixed { value } => *value,
        }
    }
}

/// Reads one size value: a string with units or an integer number of bytes.
fn size_of(value: &toml::Value) -> Result<u64, String> {
    match value {
        toml::Value::String(s) => units::parse_size(s),
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::Integer(n) => Err(format!("{n} is negative; sizes are 0 bytes or more")),
        _ => Err("expected a size such as \"1KiB\" or a number of bytes".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sizes_in_all_spellings() {
        let short = SizeDist::from_toml(&toml::Value::String("1KiB".into())).unwrap();
        let t: toml::Value = toml::from_str("s = { dist = \"fixed\", value = 1024 }").unwrap();
        assert_eq!(SizeDist::from_toml(&t["s"]).unwrap(), short);
        assert_eq!(short.min(), 1024);
        let mut rng = rand::rng();
        assert_eq!(short.sample(&mut rng), 1024);
    }

    #[test]
    fn unknown_fields_are_named() {
        let t: toml::Value = toml::from_str("s = { dist = \"fixed\", vlaue = 1 }").unwrap();
        let err = SizeDist::from_toml(&t["s"]).unwrap_err();
        assert!(err.contains("`vlaue`") && err.contains("`value`"), "{err}");
    }
}
