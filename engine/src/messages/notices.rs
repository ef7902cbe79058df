//! What the applicant is told, by e-mail and text message, as templates the province may
//! replace (`motcua serve --notices FILE`, per procedure where it wants). A template names the
//! dossier's facts between braces (`{ma_ho_so}`); [`crate::notice::PLACEHOLDERS`] lists them.
//! Text messages are kept short: one SMS of Vietnamese with diacritics holds 70 characters,
//! so each is a few parts at most.

use crate::notice::Kind;

/// A notice's wording: the e-mail's subject and body, and the text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub subject: String,
    pub email: String,
    pub sms: String,
}

/// What every e-mail of the catalogue ends with.
const FOOTER: &str = "\n\nTra cứu tình trạng hồ sơ: {tra_cuu}\n\nNơi tiếp nhận và trả kết quả: {noi_nhan}\n\nThư này được gửi tự động từ hệ thống một cửa; xin ông/bà không trả lời thư này.";

/// The catalogue's wording of each notice.
pub fn default(kind: Kind) -> Wording {
    match kind {
        Kind::Received => Wording {
            subject: "Hồ sơ {ma_ho_so} đã được tiếp nhận".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\n{co_quan} đã tiếp nhận hồ sơ {ma_ho_so} ({thu_tuc}) lúc {ngay_nop}.\nNgày hẹn trả kết quả: {ngay_hen}."),
            sms: "Đã tiếp nhận hồ sơ {ma_ho_so}. Hẹn trả kết quả: {ngay_hen}. Tra cứu: {tra_cuu}".into(),
        },
        Kind::Supplement => Wording {
            subject: "Hồ sơ {ma_ho_so}: đề nghị bổ sung giấy tờ".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nHồ sơ {ma_ho_so} ({thu_tuc}) cần bổ sung, hoàn thiện:\n{giay_to}\nLý do: {ly_do}\n\nThời hạn giải quyết tạm dừng từ {ngay_su_kien} cho đến khi ông/bà bổ sung đủ giấy tờ."),
            sms: "Hồ sơ {ma_ho_so} cần bổ sung: {giay_to_ngan}. Thời hạn tạm dừng đến khi bổ sung. Chi tiết: {tra_cuu}".into(),
        },
        Kind::Resumed => Wording {
            subject: "Hồ sơ {ma_ho_so} tiếp tục được giải quyết".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nHồ sơ {ma_ho_so} ({thu_tuc}) đã nhận đủ phần bổ sung lúc {ngay_su_kien} và tiếp tục được giải quyết.\nNgày hẹn trả kết quả: {ngay_hen}."),
            sms: "Hồ sơ {ma_ho_so} đã nhận bổ sung, tiếp tục giải quyết. Hẹn trả kết quả: {ngay_hen}.".into(),
        },
        Kind::Extended => Wording {
            subject: "Hồ sơ {ma_ho_so}: gia hạn thời gian trả kết quả".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nThời gian trả kết quả hồ sơ {ma_ho_so} ({thu_tuc}) được gia hạn đến {ngay_hen_moi} (hẹn trước đây: {ngay_hen_cu}).\nLý do: {ly_do}"),
            sms: "Hồ sơ {ma_ho_so} được gia hạn trả kết quả đến {ngay_hen_moi}. Lý do: {ly_do}".into(),
        },
        Kind::Apology => Wording {
            subject: "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {ma_ho_so}".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\n{co_quan} xin lỗi ông/bà vì hồ sơ {ma_ho_so} ({thu_tuc}) không trả kết quả đúng hẹn {ngay_hen_cu}.\nLý do: {ly_do}\nNgày hẹn trả kết quả mới: {ngay_hen_moi}."),
            sms: "Xin lỗi ông/bà: hồ sơ {ma_ho_so} trễ hẹn. Hẹn lại: {ngay_hen_moi}. Lý do: {ly_do}".into(),
        },
        Kind::Result => Wording {
            subject: "Hồ sơ {ma_ho_so} đã có kết quả".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nHồ sơ {ma_ho_so} ({thu_tuc}) đã có kết quả từ {ngay_su_kien}.\nMời ông/bà đến nhận kết quả tại {noi_nhan}, mang theo giấy tiếp nhận hồ sơ và hẹn trả kết quả và giấy tờ tùy thân."),
            sms: "Hồ sơ {ma_ho_so} đã có kết quả. Mời nhận tại {noi_nhan_ngan}, mang theo phiếu hẹn và giấy tờ tùy thân.".into(),
        },
        Kind::Refused => Wording {
            subject: "Hồ sơ {ma_ho_so} không được giải quyết".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nHồ sơ {ma_ho_so} ({thu_tuc}) không được giải quyết.\nLý do: {ly_do}"),
            sms: "Hồ sơ {ma_ho_so} không được giải quyết. Lý do: {ly_do}".into(),
        },
        Kind::Stopped => Wording {
            subject: "Hồ sơ {ma_ho_so} đã dừng xử lý".into(),
            email: email("Kính gửi ông/bà {nguoi_nop},\n\nHồ sơ {ma_ho_so} ({thu_tuc}) đã dừng xử lý.\nLý do: {ly_do}"),
            sms: "Hồ sơ {ma_ho_so} đã dừng xử lý. Lý do: {ly_do}".into(),
        },
    }
}

fn email(body: &str) -> String {
    format!("{body}{FOOTER}")
}

/// What a fact is when the dossier does not hold it: said, never left blank.
pub const NOT_GIVEN: &str = "(không ghi)";

/// The office when the offices file does not name the agency's.
pub fn office_unknown(agency: &str) -> String {
    format!("bộ phận một cửa của {agency}")
}
