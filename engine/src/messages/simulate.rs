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
        Assumption::MainPath { label, .. } => format!(
            "Bước “{label}” có nhiều hướng đi nhưng kịch bản không nêu tỉ lệ rẽ nhánh: mọi hồ sơ đi theo hướng ngắn nhất tới kết quả."
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
    out.push_str(&row(&o.total, screen::TOTAL));
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

/// What a line of the difference is about: the total, or the procedure by its name.
pub fn difference_name(c: &Comparison, d: &motcua_simulate::figures::Difference) -> String {
    match &d.procedure {
        None => screen::TOTAL.to_string(),
        Some(id) => c
            .current
            .procedures
            .iter()
            .find(|f| f.procedure.as_deref() == Some(id))
            .and_then(|f| f.name.clone())
            .unwrap_or_else(|| id.clone()),
    }
}

/// Two catalogues side by side, and the difference.
pub fn comparison(c: &Comparison) -> String {
    let mut out = String::from("HIỆN HÀNH\n");
    out.push_str(&table(&c.current));
    out.push_str("\nĐỀ XUẤT\n");
    out.push_str(&table(&c.proposed));
    out.push_str("\nCHÊNH LỆCH (đề xuất − hiện hành, cùng dòng ngẫu nhiên)\n");
    for d in &c.difference {
        let name = difference_name(c, d);
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

// ---- The forecast screens and the HTTP API (`motcua serve`: the author's "Dự báo", the
// leader's forecast and waits, `/v1/simulations`). Added for the screens; kept at the end.

/// Headings and labels of the forecast screens and their charts.
pub mod screen {
    pub const FORECAST: &str = "Dự báo";
    pub const FORECAST_TITLE: &str = "Dự báo tỷ lệ đúng hạn";
    pub const WHAT_IF: &str = "Dự báo trước khi áp dụng";
    pub const WHAT_IF_HINT: &str = "Chạy phiên bản đang dán (đề xuất) và các phiên bản đang có hiệu lực (hiện hành) trên cùng một kịch bản, cùng dòng số ngẫu nhiên; chưa lưu gì.";
    pub const SCENARIO: &str = "Kịch bản";
    pub const NO_SCENARIO: &str =
        "Máy chủ chưa có kịch bản nào có thủ tục này (thư mục --scenarios).";
    pub const CURRENT: &str = "Hiện hành";
    pub const PROPOSED: &str = "Đề xuất";
    pub const DIFFERENCE: &str = "Chênh lệch (đề xuất − hiện hành)";
    pub const ON_TIME: &str = "Tỷ lệ đúng hạn (khoảng tin cậy 95%)";
    pub const PROCESSING: &str = "Ngày làm việc giải quyết (TB / trung vị / 95%)";
    pub const PROCESSING_DIFFERENCE: &str = "Thời gian giải quyết TB";
    pub const RECEIVED: &str = "Tiếp nhận";
    pub const ENDED: &str = "Đã giải quyết";
    pub const PROCEDURE: &str = "Thủ tục";
    pub const TOTAL: &str = "Tổng cộng";
    pub const STATE: &str = "Bước";
    pub const WAIT: &str = "Chờ cán bộ (giờ làm việc TB / 95%)";
    pub const SERVICE: &str = "Xử lý (giờ)";
    pub const OFFICERS: &str = "Cán bộ";
    pub const ENOUGH: &str = "đủ";
    pub const UTILISATION: &str = "Hiệu suất cán bộ";
    pub const QUEUE: &str = "Hồ sơ chờ cán bộ theo ngày";
    pub const QUEUE_AXIS: &str = "Số bước chờ";
    pub const QUEUE_MEAN: &str = "Hàng chờ TB";
    pub const ASSUMPTIONS: &str = "Giả định";
    pub const RUN: &str = "Chạy dự báo";
    pub const LEADER_FORECAST: &str = "Dự báo và điểm nghẽn";
    pub const WAITS: &str = "Hồ sơ thực sự chờ ở đâu";
    pub const WAITS_HINT: &str =
        "Thời gian chờ trung vị của mỗi bước, tính từ nhật ký của chính hệ thống (giờ làm việc).";
    pub const FROM: &str = "Từ ngày";
    pub const TO: &str = "Đến ngày";
    pub const SHOW: &str = "Xem";
    pub const MEDIAN_WAIT: &str = "Chờ trung vị";
    pub const STEPS_DONE: &str = "Số bước đã xong";
    pub const NO_WAITS: &str = "Chưa có bước nào hoàn thành trong khoảng thời gian này.";
    /// The colour scale of median waits, lowest first: (fill, words).
    pub const SCALE: [(&str, &str); 4] = [
        ("#dcfce7", "dưới 1 giờ làm việc"),
        ("#fef9c3", "1 đến 4 giờ làm việc"),
        ("#fed7aa", "4 đến 8 giờ làm việc"),
        ("#fca5a5", "từ 1 ngày làm việc trở lên"),
    ];
    pub const NOT_SEEN: &str = "chưa có số liệu";
}

/// The fill of a median wait of `hours` working hours on the diagram (`screen::SCALE`).
pub fn wait_fill(hours: f64) -> &'static str {
    let i = if hours < 1.0 {
        0
    } else if hours < 4.0 {
        1
    } else if hours < 8.0 {
        2
    } else {
        3
    };
    screen::SCALE[i].0
}

/// A box's line on the waits diagram: `Chờ trung vị: 3,5 giờ (12 bước)`.
pub fn median_wait(hours: f64, steps: u64) -> String {
    format!(
        "{}: {} giờ ({steps} bước)",
        screen::MEDIAN_WAIT,
        decimal(hours, 1)
    )
}

/// A share as a percentage with one decimal: `86,5%`.
pub fn percent(x: f64) -> String {
    format!("{}%", decimal(x * 100.0, 1))
}

/// A difference of mean processing times: `−0,85 ngày làm việc (−1,10 đến −0,60)`.
pub fn days_difference(i: &Option<Interval>) -> String {
    let signed = |x: f64| {
        let s = decimal(x, 2);
        if x > 0.0 { format!("+{s}") } else { s }
    };
    match i {
        None => "—".into(),
        Some(i) => match (i.low, i.high) {
            (Some(l), Some(h)) => format!(
                "{} ngày làm việc ({} đến {})",
                signed(i.mean),
                signed(l),
                signed(h)
            ),
            _ => format!("{} ngày làm việc", signed(i.mean)),
        },
    }
}

/// Why the server runs no forecast of a request, for people (the API's `detail`, the screen's
/// refusal).
/// Why a scenario line does not fit, as its author reads it (the ids are the ones the
/// author wrote in the scenario, so they can find them).
pub fn problem(p: &motcua_simulate::plan::Problem) -> String {
    use motcua_simulate::plan::Problem as P;
    let kind = |d: &str| match d {
        "exponential" => "phân phối mũ (exponential)",
        "lognormal" => "phân phối log-chuẩn (lognormal)",
        "fixed" => "thời gian cố định (fixed)",
        _ => "phân phối thực nghiệm (empirical)",
    };
    // A share as written: up to four decimals, no trailing zeros (1,2 rather than 1,2000).
    let share = |x: f64| {
        let text = decimal(x, 4);
        if text.contains(',') {
            text.trim_end_matches('0').trim_end_matches(',').to_string()
        } else {
            text
        }
    };
    match p {
        P::NotProbability(x) => format!("{} không phải là xác suất từ 0 đến 1", share(*x)),
        P::SharesSum(x) => format!("các tỉ lệ cộng lại bằng {}, không phải 1", share(*x)),
        P::Needs {
            distribution,
            field,
        } => {
            format!("{} cần có “{field}”", kind(distribution))
        }
        P::TakesNo {
            distribution,
            field,
        } => {
            format!("{} không dùng “{field}”", kind(distribution))
        }
        P::NotWorkingTime(s) => format!(
            "“{s}” phải là thời gian làm việc (working hours, working days) vì đó là thời gian của cán bộ"
        ),
        P::NotElapsedTime(s) => format!(
            "“{s}” phải là thời gian thực (hours, days) vì công dân không làm theo giờ hành chính"
        ),
        P::SpanNotElapsed(s) => format!("“{s}” phải là thời gian thực (days, hours)"),
        P::MeanNotPositive => "giá trị trung bình phải lớn hơn 0".into(),
        P::LognormalOrder => "phân phối log-chuẩn cần 0 < trung vị < p90".into(),
        P::NoSamples => "phân phối thực nghiệm cần danh sách “samples” (giờ)".into(),
        P::BadSamples => "mỗi mẫu là số giờ, không âm và không quá mười năm".into(),
        P::Multiplier => "hệ số nhân nằm trong khoảng từ 0 đến 100".into(),
        P::NotLongerThanWarmup => "thời gian mô phỏng phải dài hơn giai đoạn khởi động".into(),
        P::Replications(max) => format!("số lần chạy từ 1 đến {max}"),
        P::OutOfRange => "thời gian mô phỏng vượt ra ngoài phạm vi của lịch".into(),
        P::UnknownProcedure(id) => format!("danh mục không có thủ tục “{id}”"),
        P::NoArrivals => "cần ít nhất một thủ tục có hồ sơ đến".into(),
        P::OneRate => "nêu đúng một trong hai: per_working_day hoặc per_hour".into(),
        P::Rate => "số hồ sơ đến phải lớn hơn 0 (và hợp lý)".into(),
        P::Weekday => "ngày trong tuần là một trong mon, tue, wed, thu, fri, sat, sun".into(),
        P::Hour => "giờ trong ngày từ 0 đến 23".into(),
        P::ProfileClosed => "hệ số theo ngày và giờ không để giờ nào có hồ sơ đến".into(),
        P::TooBusy { per_hour, max } => format!(
            "giờ cao điểm có {} hồ sơ đến, quá {}",
            decimal(*per_hour, 0),
            decimal(*max, 0)
        ),
        P::Channel => "kênh tiếp nhận là desk, online hoặc post".into(),
        P::NoExample(id) => format!(
            "thủ tục “{id}” không có tờ khai mẫu (form.examples): nêu dữ liệu tờ khai trong “data”"
        ),
        P::InvalidForm { procedure, .. } => {
            format!("dữ liệu tờ khai không hợp lệ với thủ tục “{procedure}”")
        }
        P::UnknownRole(r) => format!("không thủ tục nào có vai trò “{r}”"),
        P::UnknownDepartment(d) => format!("không thủ tục nào có phòng ban “{d}”"),
        P::Officers => "cần ít nhất một cán bộ (và một số lượng hợp lý)".into(),
        P::PoolTwice => "vai trò và phòng ban này được nêu hai lần".into(),
        P::Twice { state, line } => format!("bước “{state}” được nêu hai lần trong “{line}”"),
        P::UnknownAction { procedure, action } => {
            format!("thủ tục “{procedure}” không có hành động “{action}”")
        }
        P::NotFrom { action, state } => {
            format!("hành động “{action}” không đi ra từ bước “{state}”")
        }
        P::NotApplicant(state) => format!("bước “{state}” không phải bước chờ công dân"),
        P::NoStateIn { procedure, state } => {
            format!("thủ tục “{procedure}” không có bước “{state}”")
        }
        P::NoState(state) => format!("không thủ tục nào trong danh mục có bước “{state}”"),
    }
}

pub mod refusal {
    use super::decimal;
    use motcua_simulate::plan::Problem;

    /// The scenario text is not YAML of the scenario's shape.
    pub fn unreadable(line: usize, col: usize) -> String {
        format!(
            "Kịch bản không đọc được ở dòng {line}, cột {col}: kiểm tra lại theo lược đồ schemas/scenario.schema.json."
        )
    }

    /// The scenario does not fit the catalogue at `at` (a field of the scenario), and why.
    pub fn field(at: &str, problem: &Problem) -> String {
        format!("Kịch bản sai ở mục “{at}”: {}.", super::problem(problem))
    }

    /// The proposed procedure has errors.
    pub fn proposed_invalid(problems: usize) -> String {
        format!("Phiên bản đề xuất có {problems} lỗi; sửa lỗi (nút “Kiểm tra”) rồi dự báo lại.")
    }

    /// The procedures a scenario names cannot be compiled.
    pub const PROCEDURES: &str = "Các thủ tục của kịch bản có lỗi, không chạy được dự báo.";

    pub fn unknown_scenario(name: &str) -> String {
        format!("Máy chủ không có kịch bản “{name}”.")
    }

    /// Both or neither of a scenario's name and text were given.
    pub const ONE_SCENARIO: &str =
        "Nêu đúng một kịch bản: tên một kịch bản của máy chủ, hoặc nội dung kịch bản.";

    pub fn missing_procedure(id: &str) -> String {
        format!("Danh mục đang có hiệu lực không có thủ tục “{id}” mà kịch bản cần.")
    }

    /// The proposed procedure is not one the scenario runs.
    pub fn not_in_scenario(name: &str) -> String {
        format!("Kịch bản không có hồ sơ của thủ tục “{name}”: chọn kịch bản có thủ tục này.")
    }

    /// More work than a screen or a request may ask of the server.
    pub const EXHAUSTED: &str = "Kịch bản cần quá nhiều bước xử lý cho một lần dự báo trên máy chủ (có nhánh lặp lại nhiều lần?): hãy rút ngắn thời gian hoặc chạy bằng lệnh motcua simulate.";
    pub const BUSY: &str = "Máy chủ đang chạy một dự báo khác; vui lòng thử lại sau ít phút.";
    pub fn too_big(dossiers: f64, limit: f64) -> String {
        format!(
            "Kịch bản quá lớn để chạy trên máy chủ: khoảng {} hồ sơ (số lần chạy × số hồ sơ dự kiến), tối đa {}. Giảm số lần chạy hoặc thời gian mô phỏng, hoặc chạy “motcua simulate” trên máy riêng.",
            decimal(dossiers.round(), 0),
            decimal(limit, 0)
        )
    }

    /// A period asked for the observed waits that is not one.
    pub const PERIOD: &str =
        "Khoảng thời gian không hợp lệ: ngày bắt đầu phải trước ngày kết thúc, tối đa 366 ngày.";

    /// The audit log was read only in part.
    pub fn cut(entries: u64) -> String {
        format!(
            "Chỉ đọc {} mục nhật ký đầu tiên; số liệu có thể thiếu.",
            decimal(entries as f64, 0)
        )
    }
}

#[cfg(test)]
mod tests {
    use motcua_simulate::plan::Problem;
    use motcua_simulate::span::{Span, Unit};

    #[test]
    fn a_scenario_refusal_says_where_and_why_in_vietnamese() {
        let samples = [
            Problem::SharesSum(1.2),
            Problem::NotWorkingTime(Span::new(1.0, Unit::Hours)),
            Problem::Needs {
                distribution: "lognormal",
                field: "p90",
            },
            Problem::NoState("tham-dinh".into()),
            Problem::TooBusy {
                per_hour: 12_000.0,
                max: 10_000.0,
            },
        ];
        let said: Vec<String> = samples.iter().map(super::problem).collect();
        assert_eq!(said[0], "các tỉ lệ cộng lại bằng 1,2, không phải 1");
        assert!(said[1].contains("thời gian làm việc"), "{}", said[1]);
        assert!(
            said[2].contains("log-chuẩn") && said[2].contains("“p90”"),
            "{}",
            said[2]
        );
        assert!(said[4].contains("12.000"), "{}", said[4]);
        for s in &said {
            for english in [" must ", " the ", " needs "] {
                assert!(!s.contains(english), "English in {s}");
            }
        }
        let at = super::refusal::field("branching[0].actions", &samples[0]);
        assert_eq!(
            at,
            "Kịch bản sai ở mục “branching[0].actions”: các tỉ lệ cộng lại bằng 1,2, không phải 1."
        );
    }
}
