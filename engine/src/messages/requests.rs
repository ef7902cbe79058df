//! What the HTTP edge says when a request itself is wrong, before any engine rule: no
//! credential, no permission, an unknown address, a malformed body, too many requests. The
//! precise technical cause travels beside it (`cause`, English, for integrators' logs).

/// No credential, or one the server does not know.
pub fn unauthorized() -> String {
    "Cần đăng nhập: mã truy cập bị thiếu, sai hoặc đã hết hạn.".into()
}

/// The credential is known but may not do or see this.
pub fn forbidden() -> String {
    "Bạn không có quyền xem hoặc thực hiện việc này.".into()
}

pub fn dossier_not_found(code: &str) -> String {
    format!("Không tìm thấy hồ sơ có mã {code}.")
}

/// A paper the dossier does not have (a digest of another dossier's, or none at all).
pub fn paper_not_found(code: &str) -> String {
    format!("Hồ sơ {code} không có giấy tờ này.")
}

pub fn procedure_not_found(id: &str) -> String {
    format!("Không có thủ tục «{id}» trong danh mục.")
}

/// A printed form the dossier does not have (form 05 before any supplement request, …).
pub fn form_not_found(code: &str, form: &str) -> String {
    format!("Hồ sơ {code} chưa có mẫu {form}.")
}

/// The tracking book's period: reversed, too long, or not a day.
pub fn book_period(max_days: i64) -> String {
    format!(
        "Khoảng thời gian của sổ theo dõi hồ sơ không hợp lệ: nhập ngày theo dạng năm-tháng-ngày, từ ngày không sau đến ngày, không quá {max_days} ngày."
    )
}

/// A tracking book longer than one answer holds.
pub fn book_too_large(max_rows: usize) -> String {
    format!(
        "Sổ theo dõi hồ sơ có hơn {} hồ sơ trong khoảng thời gian này; hãy chọn khoảng thời gian ngắn hơn.",
        super::format::number(max_rows as i64)
    )
}

/// The citizen's lookup: a wrong code and a wrong secret are told apart by nobody.
pub fn slip_not_found() -> String {
    "Không tìm thấy hồ sơ với mã và mã tra cứu này; hãy kiểm tra lại phiếu hẹn.".into()
}

/// A tracking book asked for an agency id no procedure could name.
pub fn bad_agency() -> String {
    "Mã định danh cơ quan không hợp lệ: chọn cơ quan trong danh sách.".into()
}

/// A notice sent again and refused again, with the provider's own words.
pub fn notice_not_resent(cause: &str) -> String {
    format!("Gửi lại chưa được; nhà cung cấp trả lời: {cause}")
}

/// A notice channel or dead letter an operator named does not exist (or was sent already).
pub fn no_such_dead_letter() -> String {
    "Không có thông báo gửi lỗi này (kênh chưa cấu hình, hoặc thông báo đã được gửi lại).".into()
}

/// The citizen's rating form was posted without a level.
pub fn rating_level_missing() -> String {
    "Vui lòng chọn mức độ hài lòng: rất hài lòng, hài lòng hoặc không hài lòng.".into()
}

pub fn no_route() -> String {
    "Không có trang hoặc địa chỉ này.".into()
}

pub fn too_many(wait_seconds: f64) -> String {
    format!(
        "Quá nhiều yêu cầu; vui lòng thử lại sau {} giây.",
        wait_seconds.ceil().max(1.0) as u64
    )
}

pub fn internal() -> String {
    "Lỗi hệ thống; chưa có gì thay đổi. Vui lòng thử lại hoặc báo quản trị.".into()
}

/// A request the server cannot take as sent, by its stable code.
pub fn bad_request(code: &str) -> String {
    match code {
        "not_found" => no_route(),
        "busy" => "Máy chủ đang nhận nhiều tệp cùng lúc; vui lòng gửi lại sau giây lát.".into(),
        "unknown_action" => "Thủ tục không có thao tác này.".into(),
        "invalid_input" => "Thông tin kèm theo thao tác chưa hợp lệ.".into(),
        "unknown_procedure" => "Không có thủ tục này trong danh mục.".into(),
        "invalid_procedure" => "Tệp thủ tục không khớp với thủ tục đang cập nhật.".into(),
        "checkpoint_unavailable" => {
            "Máy chủ này chưa được cấu hình khóa ký xác nhận nhật ký.".into()
        }
        "clock_fixed" => "Máy chủ này chạy theo đồng hồ hệ thống; không thể đặt giờ.".into(),
        "rate_limited" => "Quá nhiều yêu cầu; vui lòng thử lại sau giây lát.".into(),
        "request_timeout" => "Nội dung gửi lên đến quá chậm; vui lòng gửi lại.".into(),
        "body_too_large" => "Nội dung gửi lên quá lớn.".into(),
        "unsupported_media_type" => "Định dạng nội dung gửi lên không được hỗ trợ.".into(),
        "method_not_allowed" => "Địa chỉ này không nhận thao tác này.".into(),
        "precondition_required" => {
            "Thiếu phiên bản hồ sơ đã xem (If-Match): hãy mở lại hồ sơ rồi quyết định.".into()
        }
        "bad_cursor" => "Liên kết trang tiếp theo không hợp lệ; hãy mở lại danh sách.".into(),
        "audit_broken" => "Chuỗi nhật ký kiểm tra bị hỏng; không thể ký xác nhận.".into(),
        _ => "Yêu cầu không hợp lệ; kiểm tra lại các thông tin đã gửi.".into(),
    }
}

/// The short title of a refusal by its HTTP status: the problem document's `title` and the
/// heading of an error page.
pub fn title(status: u16) -> &'static str {
    match status {
        400 => "Yêu cầu không hợp lệ",
        401 => "Cần đăng nhập",
        403 => "Không có quyền",
        404 => "Không tìm thấy",
        405 => "Thao tác không được hỗ trợ",
        408 => "Quá thời gian chờ",
        409 => "Hồ sơ đã thay đổi",
        413 => "Quá lớn",
        415 => "Sai định dạng",
        422 => "Dữ liệu chưa hợp lệ",
        428 => "Thiếu phiên bản",
        429 => "Quá nhiều yêu cầu",
        503 => "Tạm thời chưa ghi được",
        _ => "Lỗi hệ thống",
    }
}
