//! The Vietnamese words the screens and forms use for the engine's classifications, in one
//! place so a dossier page, a list and a printed form never name one thing two ways.

use crate::audit::SystemAction;
use crate::deadline::{Class, ClockState};
use crate::dossier::Channel;

/// Early, on time, late: as the national index says them.
pub fn class(c: Class) -> &'static str {
    match c {
        Class::Early => "Sớm hạn",
        Class::OnTime => "Đúng hạn",
        Class::Late => "Trễ hạn",
    }
}

/// A clock's state, or "ended" when the dossier has no running clock.
pub fn clock(c: Option<ClockState>) -> &'static str {
    match c {
        Some(ClockState::Overdue) => "Quá hạn",
        Some(ClockState::DueSoon) => "Sắp đến hạn",
        Some(ClockState::NotDue) => "Trong hạn",
        Some(ClockState::Paused) => "Tạm dừng",
        None => "Đã kết thúc",
    }
}

/// The CSS class of a clock's state (badges, bars).
pub fn clock_class(c: ClockState) -> &'static str {
    match c {
        ClockState::Overdue => "overdue",
        ClockState::DueSoon => "due_soon",
        ClockState::NotDue => "not_due",
        ClockState::Paused => "paused",
    }
}

/// A paper's media type as a word.
pub fn media_type(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "Ảnh JPEG",
        "image/png" => "Ảnh PNG",
        "image/tiff" => "Ảnh TIFF",
        _ => "Tệp",
    }
}

/// A satisfaction level, on the national three-level scale.
pub fn satisfaction(l: crate::dossier::feedback::Level) -> &'static str {
    use crate::dossier::feedback::Level;
    match l {
        Level::VerySatisfied => "Rất hài lòng",
        Level::Satisfied => "Hài lòng",
        Level::NotSatisfied => "Không hài lòng",
    }
}

pub fn channel(c: Channel) -> &'static str {
    match c {
        Channel::Desk => "Trực tiếp",
        Channel::Online => "Trực tuyến",
        Channel::Post => "Bưu chính",
    }
}

/// A notice to the applicant, as the admin's list names it.
pub fn notice_kind(k: crate::notice::Kind) -> &'static str {
    use crate::notice::Kind;
    match k {
        Kind::Received => "Đã tiếp nhận hồ sơ",
        Kind::Supplement => "Yêu cầu bổ sung",
        Kind::Resumed => "Tiếp tục giải quyết",
        Kind::Extended => "Gia hạn",
        Kind::Apology => "Xin lỗi, hẹn lại",
        Kind::Result => "Có kết quả",
        Kind::Refused => "Không giải quyết",
        Kind::Stopped => "Dừng xử lý",
    }
}

/// A notice channel, as the admin's screen names it.
pub fn notice_channel(c: crate::dossier::NoticeChannel) -> &'static str {
    match c {
        crate::dossier::NoticeChannel::Email => "Thư điện tử",
        crate::dossier::NoticeChannel::Sms => "Tin nhắn (SMS, Zalo)",
    }
}

/// A notice given up before it could be worded (its dossier could not be read).
pub const NOTICE_UNWORDED: &str = "Chưa soạn được thông báo";

/// What an applicant agreed to be told by.
pub fn notice_consent(channels: &[crate::dossier::NoticeChannel]) -> &'static str {
    use crate::dossier::NoticeChannel::{Email, Sms};
    match (channels.contains(&Email), channels.contains(&Sms)) {
        (true, true) => "Qua thư điện tử và tin nhắn",
        (true, false) => "Qua thư điện tử",
        (false, true) => "Qua tin nhắn",
        (false, false) => "Không nhận thông báo",
    }
}

/// The channel as the report keys it (`desk`, `online`, `post`).
pub fn channel_key(key: &str) -> Option<&'static str> {
    match key {
        "desk" => Some(channel(Channel::Desk)),
        "online" => Some(channel(Channel::Online)),
        "post" => Some(channel(Channel::Post)),
        _ => None,
    }
}

/// A step the engine took by itself, as the timeline and the leader's lists name it.
pub fn system_action(a: SystemAction) -> &'static str {
    match a {
        SystemAction::Pause => "Tạm dừng tính thời gian (chờ công dân)",
        SystemAction::Resume => "Tiếp tục tính thời gian",
        SystemAction::Warning => "Cảnh báo sắp đến hạn",
        SystemAction::Escalation => "Báo cáo lãnh đạo (quá hạn bước)",
        SystemAction::Overdue => "Quá hạn trả kết quả",
        SystemAction::StartLinked => "Khởi tạo hồ sơ liên thông",
    }
}

/// The national status of a dossier (1–10, as the national portal numbers them), by name.
pub fn status(n: u8) -> &'static str {
    match n {
        1 => "Mới đăng ký",
        2 => "Được tiếp nhận",
        3 => "Không được tiếp nhận",
        4 => "Đang xử lý",
        5 => "Yêu cầu bổ sung giấy tờ",
        6 => "Yêu cầu thực hiện nghĩa vụ tài chính",
        7 => "Công dân yêu cầu rút hồ sơ",
        8 => "Dừng xử lý",
        9 => "Đã xử lý xong",
        10 => "Đã trả kết quả",
        _ => "",
    }
}
