//! run.json: the effective scenario, where and when the run happened, the summary and the SLO
//! verdicts. Never credentials.

use super::{Exporter, RunReport};

pub struct RunJson;

impl Exporter for RunJson {
    fn file_name(&self) -> &'static str {
        "run.json"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut value = serde_json::to_value(report.summary)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "effective_scenario".into(),
                serde_json::to_value(report.scenario)?,
            );
            if !report.scenario.file.is_empty() {
                obj.insert(
                    "scenario_file".into(),
                    serde_json::Value::String(report.scenario.file.clone()),
                );
            }
        }
        let mut bytes = serde_json::to_vec_pretty(&value)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// The summary printed by `kbench run --json`: the same document as run.json without the
/// scenario, with one field more: `report_dir`, the run's report directory as `--out` named it.
pub fn summary_json(report: &RunReport, report_dir: &std::path::Path) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(report.summary)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "report_dir".into(),
            serde_json::Value::String(report_dir.display().to_string()),
        );
    }
    Ok(serde_json::to_string_pretty(&value)?)
}
