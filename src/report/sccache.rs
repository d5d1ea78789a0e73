//! sccache's statistics: the JSON of `sccache --show-stats --stats-format=json`, or the text
//! blocks `sccache --show-stats` prints into a build log (the steps of `prewarm image
//! --sccache` print them at their end).

use serde::{Deserialize, Serialize};

/// Compile requests, hits and misses, summed over every block or file read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Calls of the compiler that sccache saw (cacheable or not).
    pub requests: u64,
    /// Compilations answered from the cache.
    pub hits: u64,
    /// Cacheable compilations that were not in the cache.
    pub misses: u64,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Counts) {
        self.requests += other.requests;
        self.hits += other.hits;
        self.misses += other.misses;
    }

    /// hits / (hits + misses) in percent, as sccache's own `Cache hits rate`; `None` when
    /// nothing cacheable was compiled.
    pub fn rate(&self) -> Option<f64> {
        let cacheable = self.hits + self.misses;
        #[allow(clippy::cast_precision_loss)] // reason: counts of compilations, far below 2^52
        (cacheable > 0).then(|| 100.0 * self.hits as f64 / cacheable as f64)
    }
}

#[derive(Deserialize)]
struct Json {
    stats: JsonStats,
}

#[derive(Deserialize)]
struct JsonStats {
    compile_requests: u64,
    cache_hits: PerLanguage,
    cache_misses: PerLanguage,
}

#[derive(Deserialize)]
struct PerLanguage {
    counts: std::collections::BTreeMap<String, u64>,
}

/// Reads the JSON of `sccache --show-stats --stats-format=json`; the error says what is wrong.
pub fn from_json(text: &str) -> Result<Counts, String> {
    let json: Json = serde_json::from_str(text.trim()).map_err(|e| e.to_string())?;
    Ok(Counts {
        requests: json.stats.compile_requests,
        hits: json.stats.cache_hits.counts.values().sum(),
        misses: json.stats.cache_misses.counts.values().sum(),
    })
}

/// Sums the text blocks of `sccache --show-stats` among `lines` (each starts at its `Compile
/// requests` line); `None` when there is none.
pub fn from_text<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Counts> {
    let mut counts = Counts::default();
    let mut blocks = 0;
    for line in lines {
        let Some((label, value)) = line.trim().split_once("  ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        match label {
            "Compile requests" => {
                blocks += 1;
                counts.requests += value;
            }
            "Cache hits" => counts.hits += value,
            "Cache misses" => counts.misses += value,
            _ => {}
        }
    }
    (blocks > 0).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_hits_over_cacheable() {
        let c = Counts {
            requests: 10,
            hits: 3,
            misses: 1,
        };
        assert_eq!(c.rate(), Some(75.0));
        assert_eq!(Counts::default().rate(), None);
    }

    #[test]
    fn text_blocks_add_up_and_per_language_lines_do_not_count_twice() {
        let text = "Compile requests   5\nCache hits   2\nCache hits (Rust)   2\nCache misses  1\nCache hits rate  66.67 %\nCompile requests  1\nCache hits  1\nCache misses  0\n";
        assert_eq!(
            from_text(text.lines()),
            Some(Counts {
                requests: 6,
                hits: 3,
                misses: 1
            })
        );
        assert_eq!(from_text("Compiling x v1".lines()), None);
    }

    #[test]
    fn json_that_is_not_sccaches_is_refused() {
        assert!(from_json("{}").is_err());
        assert!(from_json("not json").is_err());
    }
}
