//! The engine's own steps as sentences for the timeline and the handover form (mẫu 06):
//! "Hệ thống tạm dừng tính thời gian: chờ công dân bổ sung". They are made from the audit
//! entry's structured `input` (state, reason, thresholds, whom to notify), never from its
//! stored comment, which is the engine's English note for logs and integrators.

use serde_json::Value;

use super::errors::Names;
use super::format;
use crate::audit::SystemAction;

fn quoted(label: Option<String>, id: &str) -> String {
    format!("«{}»", label.unwrap_or_else(|| id.to_string()))
}

/// A deadline the entry records, as [`format::appointment`] says deadlines.
fn instant(v: &Value) -> Option<String> {
    v.as_str()?
        .parse::<jiff::Timestamp>()
        .ok()
        .map(format::appointment)
}

fn step_of(input: &Value, names: &dyn Names) -> Option<String> {
    let id = input.get("state")?.as_str()?;
    Some(quoted(names.state(id), id))
}

/// A threshold as the engine stores it (`2 days before due`, `75% used`, `0 days after
/// due`), in words.
fn threshold(text: &str) -> String {
    if let Some(d) = text.strip_suffix(" before due") {
        return match d.parse() {
            Ok(d) => format!("còn {} đến hạn", format::duration(d)),
            Err(_) => "sắp đến hạn".into(),
        };
    }
    if let Some(d) = text.strip_suffix(" after due") {
        return match d.parse::<crate::calendar::Duration>() {
            Ok(d) if d.is_zero() => "đã quá hạn".into(),
            Ok(d) => format!("quá hạn {}", format::duration(d)),
            Err(_) => "đã quá hạn".into(),
        };
    }
    if let Some(share) = text.strip_suffix("% used") {
        return format!("đã dùng {}% thời gian", share.replace('.', ","));
    }
    "đến ngưỡng cảnh báo".into()
}

/// Whom an alarm notified: roles of a department, by their names.
fn notified(input: &Value, names: &dyn Names) -> String {
    let roles: Vec<String> = input
        .get("notify")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|r| names.role(r).unwrap_or_else(|| r.to_string()))
        .collect();
    let department = input
        .get("department")
        .and_then(Value::as_str)
        .map(|d| names.department(d).unwrap_or_else(|| d.to_string()));
    match (roles.is_empty(), department) {
        (true, None) => String::new(),
        (true, Some(d)) => format!("; báo {d}"),
        (false, None) => format!("; báo {}", roles.join(", ")),
        (false, Some(d)) => format!("; báo {} ({d})", roles.join(", ")),
    }
}

/// What the engine did, for an entry of one of its own actions.
pub fn system_step(
    action: SystemAction,
    input: &Value,
    names: &dyn Names,
    person: &dyn Fn(&str) -> String,
) -> String {
    match action {
        SystemAction::Pause => {
            let step = step_of(input, names).unwrap_or_default();
            match input.get("reason").and_then(Value::as_str) {
                Some("outside_budget") => format!(
                    "Hệ thống tạm dừng tính thời gian: bước {step} không tính vào thời hạn giải quyết."
                ),
                _ => format!(
                    "Hệ thống tạm dừng tính thời gian: chờ công dân bổ sung hồ sơ ({step})."
                ),
            }
        }
        SystemAction::Resume => {
            let paused = input
                .get("paused_working_hours_milli")
                .and_then(Value::as_u64)
                .map(format::working_time);
            let moved = input.get("appointment").and_then(instant);
            let mut text = "Hệ thống tiếp tục tính thời gian".to_string();
            if let Some(p) = paused {
                text.push_str(&format!(" sau {p} tạm dừng"));
            }
            if let Some(m) = moved {
                text.push_str(&format!("; hẹn trả kết quả mới: {m}"));
            }
            text.push('.');
            text
        }
        SystemAction::Overdue => {
            let due = input
                .get("due_at")
                .and_then(instant)
                .map(|d| format!(" (hạn {d})"))
                .unwrap_or_default();
            match step_of(input, names) {
                Some(step) if input.get("clock").and_then(Value::as_str) == Some("step") => {
                    format!("Bước {step} đã hết thời gian xử lý{due}.")
                }
                _ => format!("Hồ sơ đã quá ngày hẹn trả kết quả{due}."),
            }
        }
        SystemAction::Warning | SystemAction::Escalation => {
            let what = match action {
                SystemAction::Warning => "Cảnh báo",
                _ => "Báo cáo lãnh đạo",
            };
            let at = input
                .get("threshold")
                .and_then(Value::as_str)
                .map(threshold)
                .unwrap_or_else(|| "đến ngưỡng cảnh báo".into());
            let clock = match step_of(input, names) {
                Some(step) => format!("bước {step}"),
                None => "hẹn trả kết quả".into(),
            };
            let mut text = format!("{what}: {clock} {at}{}", notified(input, names));
            if let Some(who) = input.get("unassigned").and_then(Value::as_str) {
                text.push_str(&format!("; thu hồi việc đã giao cho {}", person(who)));
            }
            text.push('.');
            text
        }
        SystemAction::StartLinked => "Hệ thống khởi tạo các hồ sơ liên thông.".into(),
    }
}

/// The comment of an entry as people read it: the engine's own notes are replaced by the
/// sentence above (or, for an action the engine took on an escalation rule, by saying so);
/// a person's comment is theirs, shown as written.
pub fn comment_of(
    action: &str,
    actor: &str,
    comment: Option<&str>,
    input: &Value,
    names: &dyn Names,
    person: &dyn Fn(&str) -> String,
) -> Option<String> {
    if let Some(system) = SystemAction::of(action) {
        return Some(system_step(system, input, names, person));
    }
    if actor == crate::dossier::Actor::SYSTEM_ID {
        // A plugin's decision keeps the plugin's own note (its words, for the officer); a
        // plugin that failed and an escalation rule's action are said here.
        if let Some(plugin) = input.get("plugin").and_then(Value::as_str) {
            if input.get("error").is_some() {
                return Some(format!(
                    "Phần mở rộng «{plugin}» không chạy được; hồ sơ chuyển sang bước dự phòng của thủ tục."
                ));
            }
            return comment.map(String::from);
        }
        if comment.is_some_and(|c| c.starts_with("taken on escalation")) {
            return Some("Hệ thống tự thực hiện theo quy tắc báo cáo khi quá hạn.".into());
        }
    }
    if action == crate::dossier::transition::RATE {
        // The level is data in the entry's input; the citizen's words follow it.
        let level = input
            .get("level")
            .and_then(Value::as_str)
            .and_then(crate::dossier::feedback::Level::parse)
            .map(super::labels::satisfaction)?;
        return Some(match comment {
            Some(c) => format!("{level}: {c}"),
            None => level.to_string(),
        });
    }
    comment.map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::errors::NoNames;
    use serde_json::json;

    fn nobody(id: &str) -> String {
        id.to_string()
    }

    use crate::messages::sample_permit as permit;

    #[test]
    fn a_pause_says_the_clock_waits_on_the_citizen() {
        let text = system_step(
            SystemAction::Pause,
            &json!({"state": "cho-bo-sung", "reason": "waiting_on_applicant"}),
            &permit(),
            &nobody,
        );
        assert_eq!(
            text,
            "Hệ thống tạm dừng tính thời gian: chờ công dân bổ sung hồ sơ («Chờ công dân bổ sung hồ sơ»)."
        );
    }

    #[test]
    fn a_warning_names_the_threshold_and_whom_it_told_in_words() {
        let text = system_step(
            SystemAction::Warning,
            &json!({"clock": "appointment", "threshold": "2 days before due",
                    "notify": ["truong-phong-ha-tang"], "department": "ha-tang"}),
            &permit(),
            &nobody,
        );
        assert_eq!(
            text,
            "Cảnh báo: hẹn trả kết quả còn 2 ngày đến hạn; báo Trưởng phòng Kinh tế, Hạ tầng và Đô thị (Phòng Kinh tế, Hạ tầng và Đô thị)."
        );
        let late = system_step(
            SystemAction::Escalation,
            &json!({"clock": "step", "state": "tham-dinh", "threshold": "0 days after due",
                    "unassigned": "can-bo-1"}),
            &permit(),
            &|_| "Nguyễn Văn A".to_string(),
        );
        assert_eq!(
            late,
            "Báo cáo lãnh đạo: bước «Thẩm định hồ sơ (liên thông trong phòng)» đã quá hạn; thu hồi việc đã giao cho Nguyễn Văn A."
        );
    }

    #[test]
    fn a_plugins_decision_keeps_its_note_and_a_failed_plugin_is_said_in_words() {
        let decided = comment_of(
            "du",
            "system",
            Some("Đủ 3/3 thành phần bắt buộc"),
            &json!({"plugin": "kiem-tra-thanh-phan"}),
            &NoNames,
            &nobody,
        );
        assert_eq!(decided.as_deref(), Some("Đủ 3/3 thành phần bắt buộc"));
        let failed = comment_of(
            "kiem-tra-loi",
            "system",
            Some("plugin kiem-tra-thanh-phan failed (trap): unreachable"),
            &json!({"plugin": "kiem-tra-thanh-phan", "error": "trap"}),
            &NoNames,
            &nobody,
        )
        .expect("a sentence");
        assert!(failed.starts_with("Phần mở rộng «kiem-tra-thanh-phan» không chạy được"));
    }

    #[test]
    fn a_resume_gives_the_paused_time_and_the_new_appointment_in_local_time() {
        let text = system_step(
            SystemAction::Resume,
            &json!({"paused_working_hours_milli": 12000, "appointment": "2026-12-23T10:00:00Z"}),
            &NoNames,
            &nobody,
        );
        assert_eq!(
            text,
            "Hệ thống tiếp tục tính thời gian sau 1 ngày 4 giờ làm việc tạm dừng; hẹn trả kết quả mới: 23/12/2026 17:00."
        );
    }
}
