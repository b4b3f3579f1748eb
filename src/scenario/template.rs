//! JSON record templates: literal text with `{{...}}` placeholders, parsed and rendered.
//!
//! Rendering lives with parsing because checking a scenario's template means rendering samples
//! of it (see `scenario::payload`); the workload renders one per record.
//!
//! Placeholders: `{{seq}}` (the record's sequence number), `{{timestamp}}` (epoch seconds),
//! `{{timestamp_ms}}`, `{{rfc3339}}`, `{{int MIN MAX}}`, `{{float MIN MAX}}`,
//! `{{choice a b c}}` (optionally weighted: `{{choice a:3 b:1}}`), `{{uuid}}`, `{{string N}}`
//! (N random letters and digits). `{{NAME: ...}}` names a value; `{{NAME}}` repeats it later
//! in the same record.

use super::suggest;
use rand::Rng;
use rand::distr::weighted::WeightedIndex;
use rand_distr::Distribution;
use std::fmt::Write;

/// What one placeholder produces.
#[derive(Debug, Clone, PartialEq)]
enum Gen {
    Seq,
    Timestamp,
    TimestampMs,
    Rfc3339,
    Int(i64, i64),
    Float(f64, f64),
    Choice(Vec<String>, WeightedIndex<f64>),
    Uuid,
    Str(usize),
    /// The value of an earlier named placeholder.
    Ref(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// A generated value, stored under a name index when named.
    Value(Gen, Option<usize>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
    names: Vec<String>,
}

impl Template {
    /// Parses `text`; errors say which placeholder is wrong and what is known.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                format!(
                    "`{{{{` at byte {} of the template is never closed with `}}}}`",
                    text.len() - rest.len() + open
                )
            })?;
            let inner = after[..close].trim();
            let (name, spec) = match inner.split_once(':') {
                Some((n, s)) if is_name(n.trim()) => {
                    if s.trim().is_empty() {
                        return Err(format!(
                            "`{{{{{inner}}}}}`: the named value `{}` needs a placeholder after `:`, e.g. `{{{{{}: int 0 100}}}}`",
                            n.trim(),
                            n.trim()
                        ));
                    }
                    if names.iter().any(|x| x == n.trim()) {
                        return Err(format!(
                            "`{{{{{inner}}}}}`: the name `{}` is already defined in this template; use another name",
                            n.trim()
                        ));
                    }
                    (Some(n.trim()), s.trim())
                }
                _ => (None, inner),
            };
            let generator = match (name, names.iter().position(|n| n == spec)) {
                (None, Some(i)) => Gen::Ref(i),
                                _ => parse_gen(spec).map_err(|e| {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    match suggest(spec, &names) {
                        hint if hint.is_empty() => e,
                        // a misspelt reference to a named value
                        hint => format!("`{{{{{spec}}}}}` is neither a placeholder nor a name defined earlier{hint}"),
                    }
                })?,
            };
            let slot = name.map(|n| {
                names.push(n.to_string());
                names.len() - 1
            });
            parts.push(Part::Value(generator, slot));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts, names })
    }

    /// An upper bound on the rendered length in bytes.
    pub fn max_len(&self) -> usize {
        let mut named = vec![0usize; self.names.len()];
        let mut total = 0usize;
        for part in &self.parts {
            let n = match part {
                Part::Text(t) => t.len(),
                Part::Value(g, slot) => {
                    let n = match g {
                        Gen::Seq | Gen::Timestamp | Gen::TimestampMs | Gen::Int(..) => 20,
                        Gen::Rfc3339 => 30,
                        // f64 Display writes at most a sign, 309 digits, a point and 17 decimals
                        Gen::Float(..) => 330,
                        Gen::Choice(options, _) => {
                            options.iter().map(String::len).max().unwrap_or(0)
                        }
                        Gen::Uuid => 36,
                        Gen::Str(n) => *n,
                        Gen::Ref(i) => named[*i],
                    };
                    if let Some(i) = slot {
                        named[*i] = n;
                    }
                    n
                }
            };
            total = total.saturating_add(n);
        }
        total
    }

    /// Renders one record into `out` (cleared first).
    pub fn render<R: Rng>(&self, rng: &mut R, seq: u64, unix_ns: u64, out: &mut String) {
        out.clear();
        let mut values: Vec<String> = vec![String::new(); self.names.len()];
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value(generator, slot) => {
                    let start = out.len();
                    generate(generator, rng, seq, unix_ns, &values, out);
                    if let Some(i) = slot {
                        values[*i] = out[start..].to_string();
                    }
                }
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !KNOWN.contains(&s)
}

const KNOWN: &[&str] = &[
    "seq",
    "timestamp",
    "timestamp_ms",
    "rfc3339",
    "int",
    "float",
    "choice",
    "uuid",
    "string",
];

fn parse_gen(spec: &str) -> Result<Gen, String> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let Some((&head, args)) = words.split_first() else {
        return Err("an empty placeholder `{{}}`; known: ".to_string() + &KNOWN.join(", "));
    };
    let want = |n: usize, example: &str| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{{{{{spec}}}}}`: `{head}` takes {n} argument(s), e.g. `{{{{{example}}}}}`"
            ))
        }
    };
    let num = |s: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .map_err(|_| format!("`{{{{{spec}}}}}`: `{s}` is not a number"))
    };
    Ok(match head {
        "seq" => Gen::Seq,
        "timestamp" => Gen::Timestamp,
        "timestamp_ms" => Gen::TimestampMs,
        "rfc3339" => Gen::Rfc3339,
        "uuid" => Gen::Uuid,
        "int" => {
            want(2, "int 0 100")?;
            let (lo, hi) = (num(args[0])? as i64, num(args[1])? as i64);
            if lo > hi {
                return Err(format!(
                    "`{{{{{spec}}}}}`: the minimum is above the maximum"
                ));
            }
            Gen::Int(lo, hi)
        }
        "float" => {
            want(2, "float 0 1")?;
            let (lo, hi) = (num(args[0])?, num(args[1])?);
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(format!(
                    "`{{{{{spec}}}}}`: the minimum is above the maximum"
                ));
            }
            Gen::Float(lo, hi)
        }
        "string" => {
            want(1, "string 12")?;
            let n = num(args[0])?;
            if !(0.0..=65536.0).contains(&n) {
                return Err(format!(
                    "`{{{{{spec}}}}}`: a string of 0 to 65536 characters"
                ));
            }
            Gen::Str(n as usize)
        }
        "choice" => {
            if args.is_empty() {
                return Err(format!(
                    "`{{{{{spec}}}}}`: `choice` needs options, e.g. `{{{{choice red green blue}}}}`"
                ));
            }
            let mut options = Vec::new();
            let mut weights = Vec::new();
            for a in args {
                match a.rsplit_once(':') {
                    Some((o, w)) => {
                        options.push(o.to_string());
                        weights.push(num(w)?);
                    }
                    None => {
                        options.push(a.to_string());
                        weights.push(1.0);
                    }
                }
            }
            if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
                || !weights.iter().sum::<f64>().is_finite()
            {
                return Err(format!(
                    "`{{{{{spec}}}}}`: weights must be finite numbers of 0 or more; scale them down"
                ));
            }
            let index = WeightedIndex::new(&weights).map_err(|_| {
                format!("`{{{{{spec}}}}}`: weights must be 0 or more, and not all 0")
            })?;
            Gen::Choice(options, index)
        }
        other => {
            return Err(format!(
                "unknown placeholder `{{{{{other}}}}}`{}; known: {} (or a name given earlier with `{{{{NAME: ...}}}}`)",
                suggest(other, KNOWN),
                KNOWN.join(", ")
            ));
        }
    })
}

fn generate<R: Rng>(
    generator: &Gen,
    rng: &mut R,
    seq: u64,
    unix_ns: u64,
    values: &[String],
    out: &mut String,
) {
    let _ = match generator {
        Gen::Seq => write!(out, "{seq}"),
        Gen::Timestamp => write!(out, "{}", unix_ns / 1_000_000_000),
        Gen::TimestampMs => write!(out, "{}", unix_ns / 1_000_000),
        Gen::Rfc3339 => {
            let t = chrono::DateTime::from_timestamp_nanos(unix_ns as i64);
            write!(
                out,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )
        }
        Gen::Int(lo, hi) => write!(out, "{}", rng.random_range(*lo..=*hi)),
        Gen::Float(lo, hi) => write!(out, "{}", lo + (hi - lo) * rng.random::<f64>()),
        Gen::Choice(options, index) => write!(out, "{}", options[index.sample(rng)]),
        Gen::Uuid => write!(
            out,
            "{}",
            uuid::Builder::from_random_bytes(rng.random()).into_uuid()
        ),
        Gen::Str(n) => {
            const ALPHABET: &[u8] =
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            for _ in 0..*n {
                out.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
            }
            Ok(())
        }
        Gen::Ref(i) => write!(out, "{}", values[*i]),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn render(t: &str, seq: u64) -> String {
        let mut out = String::new();
        Template::parse(t).unwrap().render(
            &mut SmallRng::seed_from_u64(1),
            seq,
            1_700_000_000_123_000_000,
            &mut out,
        );
        out
    }

    #[test]
    fn clickstream_record_is_valid_json_with_its_fields() {
        let t = r#"{"prop": "{{prop: int 0 100}}", "timestamp": "{{timestamp}}", "the_data": "testString{{prop}}"}"#;
        for seq in 0..50 {
            let v: serde_json::Value = serde_json::from_str(&render(t, seq)).expect("valid JSON");
            let prop: i64 = v["prop"].as_str().unwrap().parse().unwrap();
            assert!((0..=100).contains(&prop));
            assert_eq!(v["timestamp"], "1700000000");
            assert_eq!(v["the_data"], format!("testString{prop}"));
        }
    }

    #[test]
    fn every_placeholder_renders() {
        let out = render(
            r#"{"s": {{seq}}, "ms": {{timestamp_ms}}, "t": "{{rfc3339}}", "f": {{float 1 2}}, "c": "{{choice a:0 b:1}}", "u": "{{uuid}}", "r": "{{string 8}}"}"#,
            7,
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
        assert_eq!(v["s"], 7);
        assert_eq!(v["ms"], 1_700_000_000_123u64);
        assert_eq!(v["t"], "2023-11-14T22:13:20.123Z");
        let f = v["f"].as_f64().unwrap();
        assert!((1.0..=2.0).contains(&f));
        assert_eq!(v["c"], "b", "a zero weight is never chosen");
        assert_eq!(v["u"].as_str().unwrap().len(), 36);
        assert_eq!(v["r"].as_str().unwrap().len(), 8);
    }

    #[test]
    fn weighted_choice_follows_its_weights() {
        let t = Template::parse("{{choice x:3 y:1}}").unwrap();
        let mut rng = SmallRng::seed_from_u64(5);
        let mut out = String::new();
        let mut x = 0;
        for i in 0..40_000 {
            t.render(&mut rng, i, 0, &mut out);
            x += (out == "x") as u32;
        }
        // expected 30,000, standard deviation 87
        assert!((29_500..=30_500).contains(&x), "{x}");
    }

    #[test]
    fn bad_placeholders_are_explained() {
        assert!(
            Template::parse("{{intt 0 1}}")
                .unwrap_err()
                .contains("did you mean `int`")
        );
        assert!(
            Template::parse("{{int 0}}")
                .unwrap_err()
                .contains("takes 2 argument(s)")
        );
        assert!(
            Template::parse("{{int 5 1}}")
                .unwrap_err()
                .contains("minimum is above")
        );
        assert!(
            Template::parse("{\"a\": {{seq}")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(
            Template::parse("{{nope}}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
    }
}
