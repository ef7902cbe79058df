//! The calendar the engine tests count on: the shipped Vietnamese national calendar
//! (Mon–Fri 08:00–12:00, 13:00–17:00, Asia/Ho_Chi_Minh, holidays and yearly decisions).
use motcua::calendar::Calendar;

pub fn test_calendar() -> Calendar {
    Calendar::vietnam_default()
}
