//! The headers of the spreadsheets people download (CSV and `.xlsx`: the on-time report, the
//! audit log, the staff search list) and the words in their cells that are not data, in the
//! terms of Decision 766 and the process-control slip. The machine exports (JSON, JSON
//! Lines) keep their English field names; these are for the columns a leader reads in Excel.

use crate::report::By;

/// The first column of a report: what each row counts.
pub fn report_group(by: By) -> &'static str {
    match by {
        By::Agency => "Cơ quan",
        By::Department => "Đơn vị xử lý",
        By::Procedure => "Thủ tục",
        By::Channel => "Kênh tiếp nhận",
    }
}

/// The report's figures after the group, in the order the sheet writes them.
pub const REPORT: [&str; 18] = [
    "Số hồ sơ tiếp nhận",
    "Tiếp nhận trực tuyến",
    "Giải quyết trước hạn",
    "Giải quyết đúng hạn",
    "Giải quyết quá hạn",
    "Đã giải quyết",
    "Đang giải quyết trong hạn",
    "Đang giải quyết quá hạn",
    "Đang tạm dừng",
    "Tổng số giờ làm việc xử lý",
    "Tỷ lệ tiếp nhận trực tuyến (%)",
    "Số ngày làm việc bình quân",
    "Tỷ lệ đúng hạn (%)",
    "Rất hài lòng",
    "Hài lòng",
    "Không hài lòng",
    "Số hồ sơ được đánh giá",
    "Tỷ lệ được đánh giá (%)",
];

/// The last row of a report.
pub const TOTAL: &str = "Tổng cộng";

/// A row whose group is unknown (a dossier with no department yet).
pub const NONE: &str = "(chưa xác định)";

/// The audit log, one row per entry.
pub const AUDIT: [&str; 13] = [
    "Số thứ tự",
    "Thời điểm",
    "Mã hồ sơ",
    "Thủ tục",
    "Hành động",
    "Người thực hiện",
    "Vai trò",
    "Đơn vị",
    "Từ bước",
    "Đến bước",
    "Ý kiến",
    "Phiên bản hồ sơ",
    "Mã băm",
];

/// The engine's own actor, as the log names it.
pub const SYSTEM: &str = "Hệ thống";

/// A dossier's submission, the first entry of its history (as its timeline names it).
pub const SUBMIT: &str = "Tiếp nhận hồ sơ";

/// A step assigned, claimed or given back.
pub const ASSIGN: &str = "Phân công xử lý";

/// A paper attached to the dossier.
pub const ATTACH: &str = "Đính kèm giấy tờ";

/// The applicant's phone, e-mail or consent to notices changed by the desk.
pub const CONTACT: &str = "Cập nhật liên hệ nhận thông báo";

/// The applicant's satisfaction rating.
pub const RATE: &str = "Đánh giá mức độ hài lòng";

/// A piece of feedback from the applicant (phản ánh, kiến nghị).
pub const FEEDBACK: &str = "Phản ánh, kiến nghị";

/// A leader's answer to the applicant's feedback.
pub const ANSWER_FEEDBACK: &str = "Trả lời phản ánh, kiến nghị";

/// The staff search list, one row per dossier.
pub const SEARCH: [&str; 8] = [
    "Mã hồ sơ",
    "Thủ tục",
    "Người nộp",
    "Số giấy tờ",
    "Trạng thái",
    "Đang ở",
    "Ngày tiếp nhận",
    "Hẹn trả",
];

/// The tracking book (sổ theo dõi hồ sơ, form 07), one row per dossier.
pub const BOOK: [&str; 13] = [
    "STT",
    "Mã hồ sơ",
    "Người nộp",
    "Số định danh",
    "Thủ tục",
    "Mã thủ tục",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Chuyển giao hồ sơ",
    "Ngày có kết quả",
    "Ngày trả kết quả",
    "Kết quả giải quyết",
    "Tình trạng",
];

/// The applicant as the receiver of a handover (the dossier waits on them).
pub const APPLICANT: &str = "Công dân";

/// Sheet names (Excel allows 31 characters and none of `[]:*?/\`).
pub const SHEET_REPORT: &str = "Báo cáo đúng hạn";
pub const SHEET_AUDIT: &str = "Nhật ký";
pub const SHEET_SEARCH: &str = "Hồ sơ";
pub const SHEET_BOOK: &str = "Sổ theo dõi hồ sơ";
