//! Why a request was refused, in Vietnamese, from the error's variant and its data: the API's
//! `detail`, the screens' refusal banners and error pages. The stable `code` beside it is
//! [`crate::Error::code`]; the English `Display` stays for logs and integrators.

use super::format;
use crate::dossier::form::FieldError;
use crate::dossier::transition::{Error as Refusal, Expected};
use crate::procedure::{Outcome, Procedure};
use crate::{Error, store};

/// The labels of a procedure's ids, so a sentence names "Thẩm định hồ sơ", never
/// `tham-dinh`. Every lookup may fail (an id the catalogue does not know is quoted as is).
pub trait Names {
    fn procedure(&self, _id: &str) -> Option<String> {
        None
    }
    fn state(&self, _id: &str) -> Option<String> {
        None
    }
    fn action(&self, _id: &str) -> Option<String> {
        None
    }
    fn role(&self, _id: &str) -> Option<String> {
        None
    }
    fn department(&self, _id: &str) -> Option<String> {
        None
    }
    fn document(&self, _id: &str) -> Option<String> {
        None
    }
    /// An action's input by its name (`ly_do`), or the engine's own (`promised`, `extension`).
    fn input(&self, _action: &str, name: &str) -> Option<String> {
        engine_input(name).map(String::from)
    }
}

/// The catalogue's names seen from one procedure (an audit entry's): its states and
/// actions, and every department, role and procedure the catalogue names.
pub struct InProcedure<'a> {
    pub names: &'a crate::sheet::Names,
    pub procedure: &'a str,
}

impl Names for InProcedure<'_> {
    fn procedure(&self, id: &str) -> Option<String> {
        Some(self.names.procedure(id))
    }
    fn state(&self, id: &str) -> Option<String> {
        Some(self.names.state(self.procedure, id))
    }
    fn action(&self, id: &str) -> Option<String> {
        Some(self.names.action(self.procedure, id))
    }
    fn role(&self, id: &str) -> Option<String> {
        Some(self.names.role(id))
    }
    fn department(&self, id: &str) -> Option<String> {
        Some(self.names.department(id))
    }
}

/// Where nothing is known of the procedure (a refusal before the dossier was read).
pub struct NoNames;

impl Names for NoNames {}

impl Names for Procedure {
    fn procedure(&self, id: &str) -> Option<String> {
        (self.id == id).then(|| self.name.clone())
    }
    fn state(&self, id: &str) -> Option<String> {
        self.states
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.label.clone())
    }
    fn action(&self, id: &str) -> Option<String> {
        self.actions
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.label.clone())
    }
    fn role(&self, id: &str) -> Option<String> {
        self.roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
    }
    fn department(&self, id: &str) -> Option<String> {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
    }
    fn document(&self, id: &str) -> Option<String> {
        self.paper_kind(id).map(String::from)
    }
    fn input(&self, action: &str, name: &str) -> Option<String> {
        let declared = self
            .actions
            .iter()
            .find(|a| a.id == action)
            .and_then(|a| a.inputs.iter().find(|i| i.name == name))
            .and_then(|i| i.label.clone());
        declared.or_else(|| engine_input(name).map(String::from))
    }
}

/// The inputs the engine itself gives an action (an extension, an apology's promise).
fn engine_input(name: &str) -> Option<&'static str> {
    match name {
        "promised" => Some("Ngày hẹn trả kết quả mới"),
        "extension" => Some("Thời gian gia hạn"),
        "(input)" => Some("Thông tin kèm theo"),
        "file" => Some("Tệp đính kèm"),
        _ => None,
    }
}

/// A label in quotes, or the id when none is known: «Thẩm định hồ sơ».
fn quoted(label: Option<String>, id: &str) -> String {
    format!("«{}»", label.unwrap_or_else(|| id.to_string()))
}

fn list(items: &[String], name: impl Fn(&str) -> Option<String>) -> String {
    let named: Vec<String> = items.iter().map(|i| quoted(name(i), i)).collect();
    named.join(", ")
}

/// The outcome of a closed dossier, as the status page says it.
pub fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::ResultIssued => "đã trả kết quả",
        Outcome::Refused => "đã bị từ chối",
        Outcome::Withdrawn => "công dân đã rút hồ sơ",
        Outcome::Stopped => "đã dừng xử lý",
    }
}

/// The sentence for an engine error.
pub fn error(e: &Error, names: &dyn Names) -> String {
    match e {
        Error::UnknownProcedure(id) => {
            format!(
                "Không có thủ tục {} trong danh mục.",
                quoted(names.procedure(id), id)
            )
        }
        Error::NotFound(code) => format!("Không tìm thấy hồ sơ có mã {code}."),
        Error::Refused(r) => refusal(r, names),
        Error::Store(s) => storage(s),
        Error::Catalog(crate::catalog::Error::Invalid { diagnostics, .. }) => format!(
            "Thủ tục có {} lỗi; xem danh sách lỗi theo từng dòng.",
            diagnostics.len()
        ),
        Error::Catalog(_) => {
            "Không nạp được thủ tục (biểu mẫu, điều kiện hoặc phần mở rộng không biên dịch được)."
                .into()
        }
        Error::PinnedVersionMissing { code, .. } => format!(
            "Hồ sơ {code} gắn với một phiên bản thủ tục không còn được lưu; cần nạp lại phiên bản đó."
        ),
        Error::PluginsNotBuilt { plugin, .. } => format!(
            "Bước này cần phần mở rộng «{plugin}», nhưng máy chủ được dựng không kèm phần mở rộng."
        ),
        Error::ReservedActor(_) => "Mã người dùng này dành riêng cho hệ thống.".into(),
        Error::Plugin { plugin, .. } => format!(
            "Phần mở rộng «{plugin}» gặp lỗi khi kiểm tra; chưa có gì được ghi nhận, vui lòng thử lại hoặc báo quản trị."
        ),
        Error::PluginRefused { errors, .. } => fields(errors),
        Error::AutomaticLoop { code, .. } => format!(
            "Hồ sơ {code}: bước tự động lặp lại không dừng; chưa có gì được ghi nhận, vui lòng báo quản trị."
        ),
        Error::Io { .. } => "Không đọc được tệp thủ tục trên máy chủ.".into(),
        Error::File(f) => file(f),
        Error::UnsupportedFile => {
            "Tệp không phải bản quét hay ảnh chụp giấy tờ (PDF, JPEG, PNG, TIFF); không được nhận."
                .into()
        }
        Error::UnknownFile(_) => {
            "Máy chủ chưa có tệp này; hãy tải tệp lên trước khi đính kèm.".into()
        }
    }
}

/// Field errors as one sentence (each field's own sentence is placed at the field by the
/// screens; the API lists them in `errors`).
fn fields(errors: &[FieldError]) -> String {
    match errors.len() {
        0 => "Dữ liệu hồ sơ chưa hợp lệ.".into(),
        1 => "Dữ liệu hồ sơ chưa hợp lệ: 1 trường cần sửa.".into(),
        n => format!("Dữ liệu hồ sơ chưa hợp lệ: {n} trường cần sửa."),
    }
}

fn file(e: &store::files::Error) -> String {
    use store::files::Error as F;
    match e {
        F::TooLarge { limit } => format!(
            "Tệp quá lớn: tối đa {} MB mỗi tệp.",
            format::number((*limit / (1024 * 1024)) as i64)
        ),
        F::Empty => "Tệp rỗng, không có nội dung.".into(),
        F::Upload(_) => "Tệp tải lên bị gián đoạn; vui lòng gửi lại.".into(),
        F::Storage(_) => "Chưa lưu được tệp; không có gì thay đổi, có thể gửi lại.".into(),
        F::BadDigest(_) => "Mã tệp không hợp lệ.".into(),
    }
}

fn storage(e: &store::Error) -> String {
    use store::Error as S;
    match e {
        S::VersionMoved { code, .. } => conflict(code),
        S::NotFound(code) => format!("Không tìm thấy hồ sơ có mã {code}."),
        S::IdempotencyMismatch { code, .. } => {
            format!("Mã chống gửi trùng này đã dùng cho một yêu cầu khác (hồ sơ {code}).")
        }
        S::SequenceExhausted { day, .. } => {
            format!("Cơ quan đã dùng hết 9.999 số hồ sơ của ngày {day}.")
        }
        S::NotWritten(_) | S::Closed => {
            "Chưa ghi được; không có gì thay đổi, có thể gửi lại an toàn.".into()
        }
        S::OutcomeUnknown(_) => {
            "Không rõ yêu cầu đã được ghi hay chưa; hãy mở lại hồ sơ để kiểm tra trước khi gửi lại."
                .into()
        }
        S::BadCursor(_) => "Liên kết trang tiếp theo không hợp lệ; hãy mở lại danh sách.".into(),
        S::Read(_) | S::Corrupt(_) | S::CorruptStore { .. } | S::Unusable { .. } => {
            "Lỗi kho dữ liệu của máy chủ; vui lòng báo quản trị.".into()
        }
    }
}

fn conflict(code: &str) -> String {
    format!(
        "Hồ sơ {code} vừa được người khác cập nhật. Hãy mở lại hồ sơ để xem thay đổi rồi quyết định lại."
    )
}

/// The pure step's refusals.
pub fn refusal(r: &Refusal, names: &dyn Names) -> String {
    let action = |id: &str| quoted(names.action(id), id);
    match r {
        Refusal::NotEffective { procedure, from, until, .. } => {
            let p = quoted(names.procedure(procedure), procedure);
            match until {
                Some(u) => format!(
                    "Thủ tục {p} chỉ tiếp nhận hồ sơ từ ngày {} đến ngày {}.",
                    format::date(*from),
                    format::date(*u)
                ),
                None => format!(
                    "Thủ tục {p} tiếp nhận hồ sơ từ ngày {}.",
                    format::date(*from)
                ),
            }
        }
        Refusal::InvalidForm(errors) => fields(errors),
        Refusal::UnknownDocument { document, .. } => format!(
            "Giấy tờ {} không có trong thành phần hồ sơ của thủ tục.",
            quoted(names.document(document), document)
        ),
        Refusal::Closed { code, outcome: o } => format!(
            "Hồ sơ {code} đã kết thúc ({}); không thể thực hiện thêm thao tác.",
            outcome(*o)
        ),
        Refusal::Conflict { code, .. } => conflict(code),
        Refusal::UnknownAction { action: a, .. } => {
            format!("Thủ tục không có thao tác {}.", action(a))
        }
        Refusal::NotAvailable { action: a, from, active } => {
            let now = if active.is_empty() {
                "không còn bước nào đang xử lý".to_string()
            } else {
                format!("hồ sơ đang ở bước {}", list(active, |s| names.state(s)))
            };
            format!(
                "Thao tác {} chỉ thực hiện ở bước {}; {now}.",
                action(a),
                quoted(names.state(from), from)
            )
        }
        Refusal::RoleRequired { action: a, roles, .. } => format!(
            "Thao tác {} cần vai trò {}; tài khoản của bạn không có vai trò này.",
            action(a),
            list(roles, |r| names.role(r))
        ),
        Refusal::ApplicantOnly { action: a, .. } => format!(
            "Thao tác {} do chính người nộp hồ sơ thực hiện.",
            action(a)
        ),
        Refusal::SystemOnly { action: a, .. } => {
            format!("Thao tác {} do hệ thống tự thực hiện.", action(a))
        }
        Refusal::NotOnBehalf { action: a, .. } => format!(
            "Bạn không được ghi nhận thao tác {} thay người nộp hồ sơ.",
            action(a)
        ),
        Refusal::BadRequest(b) => format!(
            "Yêu cầu không hợp lệ ở trường «{}».",
            b.field
        ),
        Refusal::DepartmentRequired { action: a, department, .. } => format!(
            "Thao tác {} thuộc {}; bạn không thuộc đơn vị này.",
            action(a),
            quoted(names.department(department), department)
        ),
        Refusal::MissingInput { action: a, input } => format!(
            "Vui lòng nhập {}.",
            quoted(names.input(a, input), input)
        ),
        Refusal::BadInput { action: a, input, expected } => {
            let field = quoted(names.input(a, input), input);
            format!("{field} {}.", expectation(expected))
        }
        Refusal::UnknownInput { action: a, input, .. } => format!(
            "Thao tác {} không nhận thông tin «{input}».",
            action(a)
        ),
        Refusal::CommentRequired { action: a } => format!(
            "Thao tác {} cần ghi rõ lý do vào ô ý kiến.",
            action(a)
        ),
        Refusal::GuardRefused { label, .. } => format!("Chưa đủ điều kiện: {label}."),
        Refusal::PapersRequired { action: a, kinds } => format!(
            "Thao tác {} cần đính kèm trước: {}.",
            action(a),
            list(kinds, |k| names.document(k))
        ),
        Refusal::PaperNotAccepted { office, .. } => if *office {
            "Tệp không phải bản quét, ảnh chụp hay văn bản, bảng tính (PDF, JPEG, PNG, TIFF, DOCX, XLSX, ODT, ODS) không có macro; không được nhận."
        } else {
            "Thủ tục này chỉ nhận bản quét hoặc ảnh chụp giấy tờ (PDF, JPEG, PNG, TIFF); không được nhận."
        }
        .into(),
        Refusal::PaperTooLarge { size, limit } => format!(
            "Tệp {} vượt giới hạn {} của thủ tục này; hãy quét lại với độ phân giải thấp hơn hoặc chia thành nhiều tệp.",
            super::format::file_size(*size),
            super::format::file_size(*limit)
        ),
        Refusal::Guard(_) => {
            "Điều kiện của thao tác không tính được trên dữ liệu hồ sơ; vui lòng báo người soạn thủ tục."
                .into()
        }
        Refusal::Deadline(_) => {
            "Không tính được thời hạn theo lịch làm việc; vui lòng báo quản trị.".into()
        }
        Refusal::Definition { .. } => {
            "Thủ tục có chỗ chưa nhất quán; vui lòng báo người soạn thủ tục.".into()
        }
        Refusal::UnknownLinkedProcedure(id) => format!(
            "Thủ tục liên thông {} chưa có trong danh mục.",
            quoted(names.procedure(id), id)
        ),
        Refusal::NotApprover { action: a, approvers, .. } => format!(
            "Gia hạn ({}) cần người có thẩm quyền: {}.",
            action(a),
            list(approvers, |r| names.role(r))
        ),
        Refusal::ApologyTooEarly { appointment, .. } => format!(
            "Chưa đến lúc xin lỗi: hồ sơ còn trong hạn (hẹn trả {}). Thư xin lỗi dành cho hồ sơ đã hoặc sắp trễ hạn.",
            format::appointment(*appointment)
        ),
        Refusal::ExtensionTooLate { appointment, .. } => format!(
            "Đã quá ngày hẹn trả ({}): không thể gia hạn nữa, hãy gửi thư xin lỗi và hẹn lại.",
            format::appointment(*appointment)
        ),
        Refusal::AlreadyResolved { code, at, .. } => format!(
            "Hồ sơ {code} đã có kết quả từ {}; không thể gia hạn hay xin lỗi nữa.",
            format::when(*at)
        ),
        Refusal::ExtensionCapped { asked, cap, granted, .. } => format!(
            "Gia hạn thêm {} sẽ vượt mức tối đa {} (đã gia hạn {}).",
            format::duration(*asked),
            format::duration(*cap),
            granted_words(granted)
        ),
        Refusal::NotRatable { code } => format!(
            "Hồ sơ {code} chưa có kết quả; có thể đánh giá mức độ hài lòng khi đã có kết quả hoặc hồ sơ đã kết thúc."
        ),
        Refusal::AlreadyRated { code, at } => format!(
            "Hồ sơ {code} đã được đánh giá lúc {}; mỗi hồ sơ chỉ đánh giá một lần.",
            format::when(*at)
        ),
        Refusal::FeedbackFull { code, limit } => format!(
            "Hồ sơ {code} đã có {limit} phản ánh, kiến nghị, là số tối đa; vui lòng liên hệ trực tiếp bộ phận một cửa."
        ),
        Refusal::UnknownFeedback { code, number } => {
            format!("Hồ sơ {code} không có phản ánh, kiến nghị số {number}.")
        }
        Refusal::FeedbackAnswered { code, number } => format!(
            "Phản ánh, kiến nghị số {number} của hồ sơ {code} đã được trả lời."
        ),
        Refusal::NotLeader { department, .. } => match department {
            Some(d) => format!(
                "Chỉ lãnh đạo {} được trả lời phản ánh, kiến nghị này.",
                quoted(names.department(d), d)
            ),
            None => "Chỉ lãnh đạo đơn vị được trả lời phản ánh, kiến nghị này.".into(),
        },
        Refusal::BadText { input, max, .. } => {
            let what = match input.as_str() {
                "comment" => "Ý kiến kèm đánh giá",
                _ => "Nội dung",
            };
            format!("{what} phải có chữ và không quá {max} ký tự.")
        }
    }
}

/// Why an action offered now would be refused, said beside it on the screen and in the API.
pub fn unavailable(u: &crate::dossier::transition::Unavailable, names: &dyn Names) -> String {
    use crate::dossier::transition::Unavailable as U;
    match u {
        U::Guard { label } => label.clone(),
        U::GuardError { .. } => {
            "Điều kiện của thao tác không tính được trên dữ liệu hồ sơ; vui lòng báo người soạn thủ tục."
                .into()
        }
        U::ApologyTooEarly => {
            "chỉ xin lỗi khi hồ sơ đã quá hạn hoặc sắp đến hạn (hồ sơ sẽ bị tính là trễ hạn)".into()
        }
        U::PapersMissing { kinds } => format!(
            "cần đính kèm trước: {}",
            kinds
                .iter()
                .map(|k| names.document(k).unwrap_or_else(|| k.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `granted` is the engine's own duration text ("3 working days"); worded when it parses.
fn granted_words(granted: &str) -> String {
    granted
        .parse::<crate::calendar::Duration>()
        .map(format::duration)
        .unwrap_or_else(|_| granted.to_string())
}

fn expectation(e: &Expected) -> String {
    match e {
        Expected::Object => "phải là một nhóm thông tin".into(),
        Expected::Text => "phải là chữ".into(),
        Expected::Number => "phải là số".into(),
        Expected::Boolean => "phải là Có hoặc Không".into(),
        Expected::Date => "phải là một ngày (ngày/tháng/năm)".into(),
        Expected::Documents => "chỉ gồm giấy tờ có trong thành phần hồ sơ".into(),
        Expected::NotZero => "phải lớn hơn 0".into(),
        Expected::AtMost(max) => format!("tối đa {}", format::duration(*max)),
        Expected::WorkingDay { given, next } => format!(
            "phải là ngày làm việc ({} không phải; ngày làm việc kế tiếp là {})",
            format::date(*given),
            format::date(*next)
        ),
        Expected::AfterAppointment(day) => {
            format!("phải sau ngày hẹn đã lỡ ({})", format::date(*day))
        }
        Expected::AfterToday => "phải sau hôm nay".into(),
        Expected::AfterPromise(day) => {
            format!("phải sau ngày đã hẹn lần trước ({})", format::date(*day))
        }
        Expected::OtherOfficer => "phải là cán bộ khác với người đang được giao".into(),
        Expected::Changed => "phải khác với thông tin đang lưu".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::messages::sample_permit as permit;

    #[test]
    fn a_refusal_names_steps_and_roles_by_their_labels() {
        let p = permit();
        let e = Error::Refused(Refusal::NotAvailable {
            action: "ky-giay-phep".into(),
            from: "trinh-ky".into(),
            active: vec!["tham-dinh".into()],
        });
        let text = error(&e, &p);
        assert!(
            !text.contains("trinh-ky") && !text.contains("tham-dinh"),
            "{text}"
        );
        assert!(text.contains("«Lãnh đạo ký giấy phép»"), "{text}");
        let role = Error::Refused(Refusal::RoleRequired {
            action: "ky-giay-phep".into(),
            actor: "a".into(),
            roles: vec!["truong-phong-ha-tang".into()],
            has: vec![],
        });
        assert!(
            error(&role, &p).contains("«Trưởng phòng Kinh tế, Hạ tầng và Đô thị»"),
            "{}",
            error(&role, &p)
        );
    }

    #[test]
    fn an_apology_on_a_holiday_names_the_next_working_day_the_vietnamese_way() {
        let e = Error::Refused(Refusal::BadInput {
            action: "xin-loi".into(),
            input: "promised".into(),
            expected: Expected::WorkingDay {
                given: "2026-12-20".parse().expect("day"),
                next: "2026-12-21".parse().expect("day"),
            },
        });
        assert_eq!(
            error(&e, &NoNames),
            "«Ngày hẹn trả kết quả mới» phải là ngày làm việc (20/12/2026 không phải; ngày làm việc kế tiếp là 21/12/2026)."
        );
        assert_eq!(
            error(&e, &permit()),
            "«Ngày hẹn trả kết quả mới» phải là ngày làm việc (20/12/2026 không phải; ngày làm việc kế tiếp là 21/12/2026)."
        );
    }

    #[test]
    fn a_conflict_tells_the_officer_what_to_do_without_version_numbers() {
        let e = Error::Refused(Refusal::Conflict {
            code: "H17.01-261207-0001".into(),
            seen: 3,
            current: 4,
        });
        assert_eq!(
            error(&e, &NoNames),
            "Hồ sơ H17.01-261207-0001 vừa được người khác cập nhật. Hãy mở lại hồ sơ để xem thay đổi rồi quyết định lại."
        );
    }
}
