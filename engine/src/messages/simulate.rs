//! A forecast (`motcua simulate`, the author's and the leader's screens) in words: the
//! headings, the figures with a decimal comma, the steps and pools by their names, and what
//! the scenario left out as sentences.

use motcua_simulate::figures::{Comparison, Figures, Interval, Outcome, Spread};
use motcua_simulate::plan::Assumption;
use motcua_simulate::scenario::CalendarChoice;

use super::format::{decimal, when};

/// An on-time rate with its interval: `87,5% (85,1–89,9)`.
pub fn rate(i: &Option<Interval>) -> String {
    match i {
        None => "—".into(),
        Some(i) => match (i.low, i.high) {
            (Some(l), Some(h)) => format!(
                "{}% ({}–{})",
                decimal(i.mean * 100.0, 1),
                decimal(l.max(0.0) * 100.0, 1),
                decimal(h.min(1.0) * 100.0, 1)
            ),
            _ => format!("{}%", decimal(i.mean * 100.0, 1)),
        },
    }
}

/// A difference of rates in percentage points with its interval: `+4,2 điểm (+1,0 đến +7,4)`.
pub fn points(i: &Option<Interval>) -> String {
    let signed = |x: f64| {
        let s = decimal(x * 100.0, 1);
        if x > 0.0 { format!("+{s}") } else { s }
    };
    match i {
        None => "—".into(),
        Some(i) => match (i.low, i.high) {
            (Some(l), Some(h)) => format!(
                "{} điểm % ({} đến {})",
                signed(i.mean),
                signed(l),
                signed(h)
            ),
            _ => format!("{} điểm %", signed(i.mean)),
        },
    }
}

/// Mean / median / 95th percentile: `8,2 / 7,5 / 14,0`.
pub fn spread(s: &Option<Spread>) -> String {
    match s {
        None => "—".into(),
        Some(s) => format!(
            "{} / {} / {}",
            decimal(s.mean, 1),
            decimal(s.p50, 1),
            decimal(s.p95, 1)
        ),
    }
}

pub fn calendar(c: CalendarChoice) -> &'static str {
    match c {
        CalendarChoice::National => "lịch làm việc quốc gia (giờ hành chính, ngày nghỉ, lễ, Tết)",
        CalendarChoice::Continuous => "thời gian liên tục (mọi giờ đều tính)",
    }
}

/// What the scenario left out, as a sentence.
pub fn assumption(a: &Assumption) -> String {
    match a {
        Assumption::NoService { label, .. } => format!(
            "Bước “{label}” không có thời gian xử lý trong kịch bản: coi như không tốn thời gian của cán bộ."
        ),
        Assumption::Unstaffed {
            role_name,
            department_name,
            ..
        } => format!(
            "Kịch bản không nêu số {role_name} của {department_name}: coi như đủ người, không ai phải chờ."
        ),
        Assumption::PluginNotRun { label, .. } => format!(
            "Bước tự động “{label}” không chạy plugin: kết quả lấy theo tỉ lệ rẽ nhánh (hoặc nhánh ngắn nhất tới kết quả), tức thì."
        ),
        Assumption::NoResponse { label, .. } => format!(
            "Bước chờ công dân “{label}” không có thời gian phản hồi trong kịch bản: coi như công dân phản hồi ngay."
        ),
    }
}

/// A name cut to a table column's width.
fn cell(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_string();
    }
    let mut s: String = name.chars().take(width - 1).collect();
    s.push('…');
    s
}

fn row(f: &Figures, name: &str) -> String {
    let name = cell(name, 50);
    format!(
        "{name:<50} {:>10} {:>12} {:>26} {:>22}\n",
        decimal(f.received, 1),
        decimal(f.ended, 1),
        rate(&f.on_time_rate),
        spread(&f.processing_working_days),
    )
}

/// The report as a text table.
pub fn table(o: &Outcome) -> String {
    let mut out = format!(
        "Dự báo {} lần chạy, tính từ {} đến {} (bỏ qua giai đoạn khởi động từ {}), {}.\n\n",
        o.replications,
        when(o.counted_from),
        when(o.end),
        when(o.start),
        calendar(o.calendar)
    );
    out.push_str(&format!(
        "{:<50} {:>10} {:>12} {:>26} {:>22}\n",
        "Thủ tục",
        "Tiếp nhận",
        "Đã giải quyết",
        "Đúng hạn (khoảng tin cậy 95%)",
        "Ngày làm việc TB/trung vị/95%"
    ));
    for f in &o.procedures {
        out.push_str(&row(f, f.name.as_deref().unwrap_or_default()));
    }
    out.push_str(&row(&o.total, "Tổng cộng"));
    out.push_str(&format!(
        "\n{:<50} {:>24} {:>12} {:>8} {:>16} {:>10}\n",
        "Bước", "Chờ cán bộ (giờ TB/95%)", "Xử lý (giờ)", "Cán bộ", "Hiệu suất", "Hàng chờ"
    ));
    for s in &o.states {
        let officers = s
            .officers
            .map_or_else(|| "đủ".to_string(), |n| n.to_string());
        let busy = s.utilisation.map_or_else(
            || "—".to_string(),
            |u| format!("{}%", decimal(u.mean * 100.0, 1)),
        );
        out.push_str(&format!(
            "{:<50} {:>24} {:>12} {:>8} {:>16} {:>10}\n",
            cell(&s.label, 50),
            format!(
                "{} / {}",
                decimal(s.wait_hours.mean, 1),
                decimal(s.wait_hours.p95, 1)
            ),
            decimal(s.service_hours, 1),
            officers,
            busy,
            decimal(s.queue_mean, 1)
        ));
    }
    if !o.assumptions.is_empty() {
        out.push_str("\nGiả định:\n");
        for a in &o.assumptions {
            out.push_str(&format!("- {}\n", assumption(a)));
        }
    }
    if o.stuck > 0 {
        out.push_str(&format!(
            "\nCó {} bước không tìm được hành động hợp lệ (xem lại tỉ lệ rẽ nhánh).\n",
            o.stuck
        ));
    }
    out
}

/// Two catalogues side by side, and the difference.
pub fn comparison(c: &Comparison) -> String {
    let mut out = String::from("HIỆN HÀNH\n");
    out.push_str(&table(&c.current));
    out.push_str("\nĐỀ XUẤT\n");
    out.push_str(&table(&c.proposed));
    out.push_str("\nCHÊNH LỆCH (đề xuất − hiện hành, cùng dòng ngẫu nhiên)\n");
    for d in &c.difference {
        let name = match &d.procedure {
            None => "Tổng cộng".to_string(),
            Some(id) => c
                .current
                .procedures
                .iter()
                .find(|f| f.procedure.as_deref() == Some(id))
                .and_then(|f| f.name.clone())
                .unwrap_or_else(|| id.clone()),
        };
        let days = match &d.processing_working_days {
            None => "—".to_string(),
            Some(i) => format!("{} ngày làm việc", decimal(i.mean, 2)),
        };
        out.push_str(&format!(
            "{name:<50} đúng hạn {}; thời gian giải quyết TB {days}\n",
            points(&d.on_time_rate)
        ));
    }
    out
}
