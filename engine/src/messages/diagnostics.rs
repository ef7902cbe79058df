//! Procedure diagnostics in Vietnamese, for the author's upload screen and the API's `detail`
//! of each error of a refused upload. The validator's English `message` stays for the CLI, CI
//! logs and integrators; here every [`Code`] has a sentence stating the rule broken in the
//! author's words, filled with the values the diagnostic recorded in `Diagnostic::args`:
//!
//! | arg | set by | meaning |
//! |---|---|---|
//! | `id` | E007, E010–E016, E018, E021, E066, E067 | the id written (unknown, duplicate, badly formed) |
//! | `kind` | E007, E010 | what the id names: `procedure`, `role`, `department`, `document`, `fee`, `plugin`, `state`, `action` |
//! | `first_line` | E010 | the line of the first definition |
//! | `suggestion` | E002, E004, E011–E016, E018, E022, E066, E067 | the nearest name (a likely typo) |
//! | `declared` | E011–E016 | the names declared, `, `-separated |
//! | `field` | E002, E003, E022, W004 | the field (YAML key, or form field) |
//! | `place` | E002–E005 | where, as `states[3].kind`; empty or absent at the top level |
//! | `value`, `allowed` | E004 (a word not allowed), E005 | the value written, the words allowed |
//! | `key` | E006 | the key written twice |
//! | `reason` | E001 `utf8`/`limit`, E004 `empty`/`number_for_text`, E060 `confined` | which case of the code |
//! | `plugin`, `capability`, `path` | E060–E067 | the plugin entry, the function, the config key |
//!
//! A diagnostic without the arguments a sentence would use (stored before they existed, or a
//! creation site that records none) gets the code's [`rule`]: still the rule, without values.

use crate::procedure::{Code, Diagnostic};

/// The problem as the author reads it: the code's rule with the diagnostic's values.
pub fn sentence(d: &Diagnostic) -> String {
    let arg = |name: &str| d.arg(name).filter(|v| !v.is_empty());
    let at = |s: String| match arg("place") {
        Some(place) => format!("{s} (tại '{place}')"),
        None => s,
    };
    let specific = match d.code {
        Code::YamlSyntax => match arg("reason") {
            Some("utf8") => Some("Tệp không được lưu theo bảng mã UTF-8".to_string()),
            Some("limit") => Some(
                "Tệp vượt giới hạn của một tệp thủ tục (1 MiB, 64 cấp lồng nhau, 100.000 nút kể cả các bí danh)"
                    .to_string(),
            ),
            _ => None,
        },
        Code::UnknownField => arg("field")
            .map(|f| at(format!("Trường '{f}' không có trong mô hình thủ tục"))),
        Code::MissingField => arg("field").map(|f| at(format!("Thiếu trường bắt buộc '{f}'"))),
        Code::WrongType => match (arg("reason"), arg("value"), arg("allowed")) {
            (Some("empty"), _, _) => Some(
                "Tệp trống: cần một thủ tục (một ánh xạ gồm id, name, states, ...)".to_string(),
            ),
            (Some("number_for_text"), _, _) => Some(at(
                "YAML đọc giá trị này là một số, nhưng ở đây cần văn bản".to_string(),
            )),
            (_, Some(v), Some(allowed)) => Some(at(format!(
                "Giá trị '{v}' không được phép; chỉ dùng một trong: {allowed}"
            ))),
            _ => arg("place").map(|p| format!("Giá trị tại '{p}' sai kiểu hoặc không hợp lệ")),
        },
        Code::InvalidDuration => arg("value").map(|v| {
            at(format!(
                "Thời hạn '{v}' không đúng dạng <số lượng> <đơn vị>"
            ))
        }),
        Code::DuplicateKey => arg("key").map(|k| {
            format!("Khoá '{k}' được viết hai lần trong cùng một ánh xạ; YAML chỉ giữ lần viết sau")
        }),
        Code::InvalidId => arg("id").map(|id| {
            format!(
                "Mã {} '{id}' chỉ được gồm chữ thường không dấu, chữ số, '-' hoặc '_'",
                kind(arg("kind"))
            )
        }),
        Code::DuplicateId => arg("id").map(|id| {
            let first = arg("first_line")
                .map(|l| format!(" (đã khai báo ở dòng {l})"))
                .unwrap_or_default();
            format!("Mã {} '{id}' bị trùng{first}", kind(arg("kind")))
        }),
        Code::UnknownState => arg("id").map(|id| format!("Trạng thái '{id}' không có trong thủ tục")),
        Code::UnknownRole => {
            arg("id").map(|id| format!("Vai trò '{id}' chưa được khai báo trong 'roles'"))
        }
        Code::UnknownDepartment => {
            arg("id").map(|id| format!("Đơn vị '{id}' chưa được khai báo trong 'departments'"))
        }
        Code::UnknownDocument => arg("id").map(|id| {
            format!("Giấy tờ '{id}' không có trong danh mục hồ sơ ('documents')")
        }),
        Code::UnknownPlugin => arg("id").map(|id| {
            format!("Mô-đun mở rộng '{id}' chưa được khai báo trong 'plugins'")
        }),
        Code::UnknownAction => arg("id").map(|id| format!("Hành động '{id}' không có trong thủ tục")),
        Code::UnknownProcedure => arg("id").map(|id| {
            format!("Thủ tục liên thông '{id}' không có trong các tệp được kiểm tra cùng")
        }),
        Code::GuardUnknownVariable => arg("id").map(|v| {
            format!(
                "Điều kiện đọc biến '{v}' không tồn tại; chỉ được dùng data, input, actor, dossier, now"
            )
        }),
        Code::GuardUnknownField => arg("field").map(|f| {
            format!("Điều kiện đọc trường '{f}' mà biểu mẫu ('form') không khai báo")
        }),
        Code::GuardReadsOptionalField => arg("field").map(|f| {
            format!(
                "Điều kiện đọc trường '{f}', trường này không bắt buộc và không có giá trị mặc định: hồ sơ thiếu nó sẽ không thực hiện được hành động"
            )
        }),
        Code::PluginUnreadable if arg("reason") == Some("confined") => arg("plugin").map(|p| {
            format!(
                "Tệp của mô-đun mở rộng '{p}' nằm ngoài thư mục thủ tục và thư mục mô-đun, nơi duy nhất một thủ tục tải lên được đọc"
            )
        }),
        Code::PluginUnreadable => arg("plugin").map(|p| {
            format!("Tệp của mô-đun mở rộng '{p}' không có hoặc không đọc được")
        }),
        Code::PluginHashMismatch => arg("plugin").map(|p| {
            format!("Tệp của mô-đun mở rộng '{p}' không khớp mã sha256 đã ghi trong thủ tục")
        }),
        Code::NotAPlugin => arg("plugin").map(|p| {
            format!("Tệp khai báo cho '{p}' không phải mô-đun mở rộng của motcua")
        }),
        Code::PluginMissingCapability => match (arg("plugin"), arg("capability")) {
            (Some(p), Some(c)) => Some(format!(
                "Mô-đun mở rộng '{p}' không có chức năng '{c}' mà thủ tục dùng ở đây"
            )),
            _ => None,
        },
        Code::PluginConfigInvalid => match (arg("plugin"), arg("path")) {
            (Some(p), Some(path)) => Some(format!(
                "Cấu hình của mô-đun mở rộng '{p}' tại '{path}' không đúng lược đồ cấu hình của mô-đun"
            )),
            _ => None,
        },
        Code::PluginBadConfigSchema => arg("plugin").map(|p| {
            format!("Mô-đun mở rộng '{p}' mô tả một lược đồ cấu hình không hợp lệ")
        }),
        Code::PluginConfigUnknownAction => match (arg("plugin"), arg("id")) {
            (Some(p), Some(id)) => Some(format!(
                "Cấu hình của mô-đun mở rộng '{p}' gọi tên hành động '{id}' mà lời gọi này không thực hiện được"
            )),
            _ => None,
        },
        Code::PluginConfigUnknownDocument => match (arg("plugin"), arg("id")) {
            (Some(p), Some(id)) => Some(format!(
                "Cấu hình của mô-đun mở rộng '{p}' gọi tên giấy tờ '{id}' không có trong danh mục hồ sơ"
            )),
            _ => None,
        },
        _ => None,
    };
    specific.unwrap_or_else(|| rule(d.code).to_string())
}

/// What to do about it, when the validator gave a hint: the nearest name for a likely typo,
/// the names declared or allowed, else the code's [`fix`]. `None` when the diagnostic has no
/// hint (the English one) either.
pub fn hint(d: &Diagnostic) -> Option<String> {
    d.hint.as_ref()?;
    let arg = |name: &str| d.arg(name).filter(|v| !v.is_empty());
    if let Some(s) = arg("suggestion") {
        return Some(format!("Có phải ý bạn là '{s}'?"));
    }
    let listed = match d.code {
        Code::UnknownState
        | Code::UnknownRole
        | Code::UnknownDepartment
        | Code::UnknownDocument
        | Code::UnknownPlugin
        | Code::UnknownAction => arg("declared").map(|l| format!("Đã khai báo: {l}")),
        Code::UnknownField => arg("allowed").map(|l| format!("Được dùng ở đây: {l}")),
        _ => None,
    };
    if listed.is_some() {
        return listed;
    }
    Some(
        match (d.code, arg("reason")) {
            (Code::YamlSyntax, Some("utf8")) => "Lưu tệp theo bảng mã UTF-8 (kể cả chữ tiếng Việt)",
            (Code::WrongType, Some("number_for_text")) => {
                "Đặt giá trị trong ngoặc kép, ví dụ \"1.001193\", để YAML đọc là văn bản"
            }
            (code, _) => fix(code),
        }
        .to_string(),
    )
}

/// The rule each code stands for, as one sentence without values. Exhaustive, so a new code
/// does not compile until it is worded here.
pub fn rule(code: Code) -> &'static str {
    match code {
        Code::YamlSyntax => "Tệp sai cú pháp YAML từ chỗ này",
        Code::UnknownField => "Trường không có trong mô hình thủ tục (thường do gõ sai tên)",
        Code::MissingField => "Thiếu trường bắt buộc",
        Code::WrongType => "Giá trị sai kiểu hoặc không hợp lệ",
        Code::InvalidDuration => "Thời hạn không đúng dạng <số lượng> <đơn vị>",
        Code::DuplicateKey => {
            "Một khoá được viết hai lần trong cùng một ánh xạ; YAML chỉ giữ lần viết sau"
        }
        Code::InvalidId => "Mã định danh chỉ được gồm chữ thường không dấu, chữ số, '-' hoặc '_'",
        Code::DuplicateId => "Hai mục cùng loại trùng mã định danh",
        Code::UnknownState => {
            "Hành động, nhánh hoặc điểm hợp nhánh dẫn đến trạng thái không có trong thủ tục"
        }
        Code::UnknownRole => "Vai trò chưa được khai báo trong 'roles'",
        Code::UnknownDepartment => "Đơn vị chưa được khai báo trong 'departments'",
        Code::UnknownDocument => "Giấy tờ không có trong danh mục hồ sơ ('documents')",
        Code::UnknownPlugin => "Mô-đun mở rộng chưa được khai báo trong 'plugins'",
        Code::UnknownAction => {
            "Hành động không có trong thủ tục hoặc không đi ra từ trạng thái này"
        }
        Code::NotAFork => "Điểm hợp nhánh ('join') phải gọi tên một trạng thái rẽ nhánh ('fork')",
        Code::UnknownProcedure => "Thủ tục liên thông không có trong các tệp được kiểm tra cùng",
        Code::GuardSyntax => "Điều kiện ('guard') không biên dịch được: biểu thức CEL sai cú pháp",
        Code::GuardUnknownVariable => {
            "Điều kiện đọc một biến không tồn tại; chỉ được dùng data, input, actor, dossier, now"
        }
        Code::GuardUnknownField => "Điều kiện đọc một trường mà biểu mẫu ('form') không khai báo",
        Code::InvalidFormSchema => {
            "Biểu mẫu ('form') không phải JSON Schema hợp lệ hoặc không mô tả một đối tượng"
        }
        Code::LinkUnknownField => {
            "Liên thông sao chép một trường mà biểu mẫu của thủ tục này không khai báo"
        }
        Code::NoStart => {
            "Không có trạng thái bắt đầu ('start: true'): hồ sơ không có chỗ để bắt đầu"
        }
        Code::SeveralStarts => "Có nhiều hơn một trạng thái bắt đầu",
        Code::Unreachable => "Không có đường nào từ trạng thái bắt đầu đến trạng thái này",
        Code::NoWayToTerminal => {
            "Từ trạng thái này không thể đến trạng thái kết thúc: hồ sơ sẽ không bao giờ kết thúc"
        }
        Code::TerminalWithActions => "Trạng thái kết thúc không được có hành động đi ra",
        Code::TerminalWithoutOutcome => "Trạng thái kết thúc thiếu kết quả ('outcome')",
        Code::OutcomeOnNonTerminal => "Chỉ trạng thái kết thúc mới có kết quả ('outcome')",
        Code::ForkTooFewBranches => "Trạng thái rẽ nhánh phải chia thành ít nhất hai nhánh",
        Code::ForkWithoutJoin => {
            "Các nhánh của trạng thái rẽ nhánh không bao giờ gặp nhau ở một điểm hợp nhánh"
        }
        Code::JoinCannotComplete => {
            "Điểm hợp nhánh không thể hoàn thành: có nhánh không có đường đến nó"
        }
        Code::AutomaticWithoutPlugin => "Trạng thái tự động thiếu mô-đun mở rộng để quyết định",
        Code::ApplicantNoWayBack => {
            "Trạng thái chờ công dân không có hành động quay lại để tiếp tục xử lý"
        }
        Code::StatusOutOfRange => "Mã trạng thái quốc gia ('status') phải từ 1 đến 10",
        Code::ForkWithActions => {
            "Trạng thái rẽ nhánh không được có hành động đi ra: hồ sơ chuyển ngay sang các nhánh"
        }
        Code::MisplacedField => {
            "Trường này không dùng cho loại trạng thái này: chỉ 'fork' có 'branches', chỉ 'join' có 'fork'"
        }
        Code::NoTaker => "Hành động không ai thực hiện được: thiếu cả 'roles' và 'by'",
        Code::TakerWithRoles => {
            "Hành động do công dân hoặc hệ thống thực hiện không được có 'roles'"
        }
        Code::AutomaticNotSystem => {
            "Hành động rời trạng thái tự động phải do hệ thống thực hiện ('by: system')"
        }
        Code::AutomaticCycle => {
            "Vòng lặp chỉ gồm các trạng thái tự động: các mô-đun mở rộng sẽ quyết định mãi"
        }
        Code::BranchLeavesRegion => {
            "Nhánh song song đi ra ngoài phạm vi của nó (quay lại, sang nhánh khác hoặc vượt qua điểm hợp nhánh)"
        }
        Code::BudgetExceedsLimit => {
            "Tổng thời hạn các bước vượt thời hạn giải quyết theo luật ('limit.duration')"
        }
        Code::EffectiveUntilBeforeFrom => {
            "Ngày hết hiệu lực ('effective_until') trước ngày có hiệu lực ('effective_from')"
        }
        Code::DisadvantagedShorter => {
            "Thời hạn cho vùng khó khăn ('limit.disadvantaged') ngắn hơn thời hạn thông thường"
        }
        Code::ExtensionTooLong => {
            "Thời gian gia hạn dài hơn mức thủ tục cho phép ('limit.extension')"
        }
        Code::ExtensionApprover => {
            "Hành động gia hạn không có vai trò nào được phép phê duyệt gia hạn ('limit.extension_approvers')"
        }
        Code::EscalationThreshold => {
            "Ngưỡng cảnh báo ('escalation') thiếu, bị trùng hoặc vượt thời hạn của bước"
        }
        Code::EscalationAction => {
            "Quy tắc cảnh báo ('escalation') thực hiện một hành động mà hệ thống không thể thực hiện từ trạng thái này"
        }
        Code::ApologyAction => {
            "Hành động xin lỗi ('apology') không được chuyển hồ sơ đi hoặc đồng thời gia hạn"
        }
        Code::FeePerField => {
            "Phí tính theo ('per') một trường mà biểu mẫu không khai báo là số nguyên, hoặc phí không có mức thu"
        }
        Code::PluginUnreadable => "Tệp của mô-đun mở rộng không có hoặc không đọc được",
        Code::PluginHashMismatch => {
            "Tệp của mô-đun mở rộng không khớp mã sha256 đã ghi trong thủ tục"
        }
        Code::NotAPlugin => "Tệp khai báo không phải mô-đun mở rộng của motcua",
        Code::PluginMissingCapability => "Mô-đun mở rộng không có chức năng mà thủ tục dùng ở đây",
        Code::PluginConfigInvalid => {
            "Cấu hình của mô-đun mở rộng không đúng lược đồ cấu hình của mô-đun"
        }
        Code::PluginBadConfigSchema => "Mô-đun mở rộng mô tả một lược đồ cấu hình không hợp lệ",
        Code::PluginConfigUnknownAction => {
            "Cấu hình của mô-đun mở rộng gọi tên một hành động mà lời gọi này không thực hiện được"
        }
        Code::PluginConfigUnknownDocument => {
            "Cấu hình của mô-đun mở rộng gọi tên một giấy tờ không có trong danh mục hồ sơ"
        }
        Code::MissingBudget => "Trạng thái chưa có thời hạn xử lý ('budget')",
        Code::EscalationWithoutBudget => {
            "Cảnh báo đặt trên trạng thái không có thời hạn nên sẽ không bao giờ kích hoạt"
        }
        Code::CutoffOnLongLimit => {
            "Giờ chốt trong ngày ('same_day_cutoff') chỉ dùng cho thủ tục giải quyết trong ngày"
        }
        Code::GuardReadsOptionalField => {
            "Điều kiện đọc một trường có thể không có trong hồ sơ (không bắt buộc, không có giá trị mặc định)"
        }
    }
}

/// How to fix what each code reports, as `docs/diagnostics.md` says it. Exhaustive, like
/// [`rule`].
pub fn fix(code: Code) -> &'static str {
    match code {
        Code::YamlSyntax => "Đặt giá trị có ': ' hoặc '#' trong ngoặc kép và kiểm tra thụt lề",
        Code::UnknownField => {
            "Sửa tên hoặc xoá trường này; 'schemas/procedure.schema.json' liệt kê mọi trường"
        }
        Code::MissingField => "Bổ sung trường còn thiếu",
        Code::WrongType => "Viết đúng kiểu giá trị mà trường yêu cầu",
        Code::InvalidDuration => {
            "Viết số lượng và đơn vị: '3 working days', '0.5 working days', '4 working hours' hoặc '15 days'"
        }
        Code::DuplicateKey => "Xoá hoặc gộp một trong hai mục",
        Code::InvalidId => "Viết tiếng Việt không dấu, ví dụ 'tiep-nhan'",
        Code::DuplicateId => "Đặt cho mỗi mục một mã riêng",
        Code::UnknownState => "Dùng mã của một trạng thái đã khai báo",
        Code::UnknownRole => "Khai báo vai trò trong 'roles' hoặc sửa mã",
        Code::UnknownDepartment => "Khai báo đơn vị trong 'departments' hoặc sửa mã",
        Code::UnknownDocument => "Thêm giấy tờ vào 'documents' hoặc sửa mã",
        Code::UnknownPlugin => {
            "Khai báo mô-đun mở rộng (tệp và mã sha256) trong 'plugins' hoặc sửa mã"
        }
        Code::UnknownAction => "Gọi tên một hành động đi ra từ trạng thái này",
        Code::NotAFork => "Gọi tên trạng thái rẽ nhánh có các nhánh gặp nhau ở đây",
        Code::UnknownProcedure => "Sửa mã, hoặc đặt tệp của thủ tục con cạnh tệp thủ tục này",
        Code::GuardSyntax => "Hoàn chỉnh biểu thức, ví dụ 'data.so_tang >= 1'",
        Code::GuardUnknownVariable => "Dùng một trong năm biến data, input, actor, dossier, now",
        Code::GuardUnknownField => "Khai báo trường trong 'form.properties' hoặc sửa tên",
        Code::InvalidFormSchema => {
            "'type' là một trong object, array, string, number, integer, boolean, null; biểu mẫu có 'type: object' và các trường trong 'properties'"
        }
        Code::LinkUnknownField => "Gọi tên một trường đã khai báo của biểu mẫu này",
        Code::NoStart => {
            "Đánh dấu trạng thái tiếp nhận (thường là bộ phận một cửa) bằng 'start: true'"
        }
        Code::SeveralStarts => "Chỉ giữ một trạng thái có 'start: true'",
        Code::Unreachable => "Thêm hành động dẫn đến trạng thái này, hoặc xoá nó",
        Code::NoWayToTerminal => "Thêm hành động dẫn đến trả kết quả, từ chối hoặc dừng",
        Code::TerminalWithActions => "Xoá hành động, hoặc đổi loại trạng thái thành bước xử lý",
        Code::TerminalWithoutOutcome => {
            "Thêm 'outcome: result_issued', 'refused', 'withdrawn' hoặc 'stopped'"
        }
        Code::OutcomeOnNonTerminal => "Xoá 'outcome', hoặc đặt 'kind: terminal'",
        Code::ForkTooFewBranches => {
            "Một bước duy nhất không cần rẽ nhánh: dùng một hành động, hoặc thêm nhánh còn thiếu"
        }
        Code::ForkWithoutJoin => {
            "Thêm trạng thái 'kind: join' có 'fork' là trạng thái rẽ nhánh này"
        }
        Code::JoinCannotComplete => "Thêm hành động từ cuối nhánh đó đến điểm hợp nhánh",
        Code::AutomaticWithoutPlugin => {
            "Thêm 'plugin: {plugin: <mã>}', hoặc đổi thành bước xử lý ('task')"
        }
        Code::ApplicantNoWayBack => "Thêm hành động, ví dụ 'nop-bo-sung', quay lại bước của cán bộ",
        Code::StatusOutOfRange => {
            "2 đã tiếp nhận, 3 không tiếp nhận, 4 đang xử lý, 5 chờ bổ sung, 6 nghĩa vụ tài chính, 7 đề nghị rút, 8 dừng xử lý, 9 đã xử lý xong, 10 trả lại"
        }
        Code::ForkWithActions => "Đặt hành động ở điểm hợp nhánh hoặc trong một nhánh",
        Code::MisplacedField => "Đổi 'kind' của trạng thái, hoặc xoá trường",
        Code::NoTaker => "Thêm 'by: applicant', 'by: system' hoặc 'roles: [...]'",
        Code::TakerWithRoles => "Xoá 'roles' (hoặc 'by', nếu cán bộ thực hiện hành động)",
        Code::AutomaticNotSystem => {
            "Đặt 'by: system' và bỏ 'roles'; lựa chọn của cán bộ thuộc về bước mà mô-đun chuyển đến"
        }
        Code::AutomaticCycle => {
            "Dẫn một trong các quyết định đến bước của cán bộ hoặc của công dân"
        }
        Code::BranchLeavesRegion => {
            "Kết thúc nhánh tại điểm hợp nhánh của nó (và trả hồ sơ sau điểm hợp nhánh), hoặc cho nhánh trạng thái bổ sung riêng"
        }
        Code::BudgetExceedsLimit => {
            "Rút ngắn thời hạn các bước, hoặc đánh dấu 'outside_budget: true' cho bước mà luật loại trừ"
        }
        Code::EffectiveUntilBeforeFrom => {
            "Một phiên bản có hiệu lực từ 'effective_from' đến hết ngày 'effective_until'"
        }
        Code::DisadvantagedShorter => "Vùng khó khăn được thời hạn dài hơn, không bao giờ ngắn hơn",
        Code::ExtensionTooLong => {
            "Khai báo mức gia hạn tối đa theo luật trong 'limit.extension', ví dụ 'extension: 10 days'"
        }
        Code::ExtensionApprover => {
            "Ghi vai trò phê duyệt trong 'limit.extension_approvers' và giao vai trò đó cho hành động"
        }
        Code::EscalationThreshold => {
            "Mỗi quy tắc một ngưỡng, nằm trong thời hạn của bước, cùng loại thời gian với thời hạn"
        }
        Code::EscalationAction => {
            "Khai báo riêng một hành động 'by: system' đi ra từ trạng thái và gọi tên nó"
        }
        Code::ApologyAction => {
            "Cho hành động quay về chính trạng thái của nó; gia hạn là một hành động riêng"
        }
        Code::FeePerField => {
            "Gọi tên một trường số nguyên của biểu mẫu, ví dụ số bản sao, và ghi 'amount' cho mỗi đơn vị"
        }
        Code::PluginUnreadable => {
            "Đường dẫn tính từ thư mục của tệp thủ tục: sửa đường dẫn, hoặc dựng và lưu mô-đun"
        }
        Code::PluginHashMismatch => {
            "Nếu bản dựng mới là bản cần chạy, ghi mã sha256 mới (là một phiên bản thủ tục mới); nếu không, khôi phục tệp đã ghi mã"
        }
        Code::NotAPlugin => {
            "Dùng một thành phần WebAssembly dựng bằng bộ công cụ mô-đun của motcua ('plugins/README.md')"
        }
        Code::PluginMissingCapability => {
            "Dùng mô-đun có chức năng này, hoặc dùng mô-đun này ở chỗ phù hợp với nó"
        }
        Code::PluginConfigInvalid => "Viết cấu hình theo tài liệu của mô-đun ('plugins/README.md')",
        Code::PluginBadConfigSchema => "Mô-đun phải được sửa, dựng lại và ghi mã sha256 mới",
        Code::PluginConfigUnknownAction => "Gọi tên một hành động đi ra từ trạng thái tự động",
        Code::PluginConfigUnknownDocument => "Dùng mã giấy tờ trong danh mục hồ sơ",
        Code::MissingBudget => {
            "Thêm 'budget: ...', hoặc 'outside_budget: true' nếu luật loại trừ bước này"
        }
        Code::EscalationWithoutBudget => "Thêm thời hạn cho trạng thái, hoặc bỏ cảnh báo",
        Code::CutoffOnLongLimit => {
            "Xoá 'same_day_cutoff', hoặc đặt thời hạn '1 working day' nếu thủ tục giải quyết trong ngày"
        }
        Code::GuardReadsOptionalField => {
            "Thêm trường vào 'form.required', đặt 'default:', hoặc viết 'has(data.<trường>) && ...'"
        }
    }
}

/// What an id names (`Diagnostic::args["kind"]`), in words.
fn kind(k: Option<&str>) -> &'static str {
    match k {
        Some("procedure") => "thủ tục",
        Some("role") => "vai trò",
        Some("department") => "đơn vị",
        Some("document") => "giấy tờ",
        Some("fee") => "phí, lệ phí",
        Some("plugin") => "mô-đun mở rộng",
        Some("state") => "trạng thái",
        Some("action") => "hành động",
        _ => "định danh",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::{Pos, load_and_check_str};

    /// English a sentence must not contain once the values it quotes are taken out: words of
    /// the validator's messages and of serde's. Extend it when a new English phrase leaks.
    const ENGLISH: &[&str] = &[
        "unknown",
        "missing",
        "field",
        "expected",
        "invalid",
        "must",
        "the",
        "is",
        "not",
        "declared",
        "did",
        "mean",
        "state",
        "action",
        "role",
        "duplicate",
        "error",
        "warning",
        "should",
        "allowed",
        "value",
        "type",
        "found",
        "line",
    ];

    /// The words of `text` outside single quotes (quoted: ids, YAML keys and literals the
    /// author writes as they are).
    fn prose(text: &str) -> Vec<String> {
        text.split('\'')
            .step_by(2)
            .flat_map(|part| part.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }

    fn english_in(text: &str) -> Vec<String> {
        prose(text)
            .into_iter()
            .filter(|w| ENGLISH.contains(&w.as_str()))
            .collect()
    }

    fn diagnostic(code: Code, args: &[(&str, &str)]) -> Diagnostic {
        let mut d = Diagnostic::new(code, "t.yaml", Pos::START, "english message")
            .with_hint("english hint");
        for (k, v) in args {
            d = d.with_arg(k, v);
        }
        d
    }

    #[test]
    fn every_code_has_a_vietnamese_sentence_and_fix() {
        // Every argument any sentence reads, so both the rule and the worded case are covered.
        let all_args = [
            ("id", "x"),
            ("kind", "state"),
            ("first_line", "3"),
            ("field", "f"),
            ("place", "states[0]"),
            ("key", "k"),
            ("value", "v"),
            ("allowed", "a, b"),
            ("plugin", "p"),
            ("capability", "decide"),
            ("path", "/x"),
        ];
        for &code in Code::ALL {
            for d in [diagnostic(code, &[]), diagnostic(code, &all_args)] {
                for text in [
                    sentence(&d),
                    hint(&d).unwrap_or_default(),
                    fix(code).to_string(),
                ] {
                    assert!(!text.trim().is_empty(), "{code}: empty");
                    assert_eq!(english_in(&text), Vec::<String>::new(), "{code}: {text}");
                    // Vietnamese, not a code or a bare value: at least one letter with a diacritic.
                    assert!(!text.is_ascii(), "{code}: {text}");
                }
                assert!(!sentence(&d).contains("english"), "{code}");
            }
        }
    }

    #[test]
    fn sentences_name_the_values() {
        let d = diagnostic(
            Code::UnknownState,
            &[
                ("id", "da-traa"),
                ("suggestion", "da-tra"),
                ("declared", "tiep-nhan, da-tra"),
            ],
        );
        assert_eq!(sentence(&d), "Trạng thái 'da-traa' không có trong thủ tục");
        assert_eq!(hint(&d).as_deref(), Some("Có phải ý bạn là 'da-tra'?"));
        let d = diagnostic(
            Code::DuplicateId,
            &[("kind", "role"), ("id", "can-bo"), ("first_line", "12")],
        );
        assert_eq!(
            sentence(&d),
            "Mã vai trò 'can-bo' bị trùng (đã khai báo ở dòng 12)"
        );
        // No argument recorded (a diagnostic stored before arguments existed): the rule.
        let d = diagnostic(Code::UnknownRole, &[]);
        assert_eq!(sentence(&d), rule(Code::UnknownRole));
        assert_eq!(hint(&d).as_deref(), Some(fix(Code::UnknownRole)));
        // No English hint, no Vietnamese one.
        let mut d = diagnostic(Code::UnknownRole, &[]);
        d.hint = None;
        assert_eq!(hint(&d), None);
    }

    /// The loader and the checker record the arguments the sentences read.
    #[test]
    fn the_validator_records_what_the_sentences_read() {
        let text = include_str!("../../../tests/fixtures/valid-minimal.yaml");
        let broken = text
            .replace("name: Thủ tục mẫu\n", "nam: Thủ tục mẫu\n")
            .replacen("    status: 4\n", "    status: bốn\n", 1);
        let loaded = load_and_check_str(&broken, "t.yaml");
        let said: Vec<(String, String)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.code.to_string(), sentence(d)))
            .collect();
        assert!(
            said.contains(&("E003".into(), "Thiếu trường bắt buộc 'name'".into())),
            "{said:?}"
        );
        assert!(
            said.contains(&(
                "E002".into(),
                "Trường 'nam' không có trong mô hình thủ tục".into()
            )),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|(c, s)| c == "E004" && s.contains("'states[") && s.contains("status")),
            "{said:?}"
        );
    }
}
