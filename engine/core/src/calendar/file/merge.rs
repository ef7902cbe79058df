//! Folding a chain of calendar files (national → province → agency) into one
//! [`CalendarSpec`]: scalars field by field, office hours weekday by weekday, decisions added,
//! each day's windows checked.

use super::*;

pub(super) fn merge(chain: &[(String, CalendarFile)]) -> Result<CalendarSpec, Error> {
    let mut name = String::new();
    let mut tz_name: Option<(String, String)> = None;
    let mut rules = HolidayRules::default();
    let mut standard: Option<(String, DayHours)> = None;
    let mut weekdays: [Option<DayHours>; 7] = Default::default();
    let mut cutoff = None;
    // Dates carry the origin of the file that declared them, for messages.
    let mut days_off: BTreeMap<Date, (String, String)> = BTreeMap::new();
    let mut make_up: BTreeMap<Date, (String, String)> = BTreeMap::new();
    let mut removed: BTreeSet<Date> = BTreeSet::new();

    for (origin, file) in chain {
        name.clone_from(&file.name);
        if let Some(tz) = &file.time_zone {
            tz_name = Some((origin.clone(), tz.clone()));
        }
        if let Some(r) = &file.holiday_rules {
            apply_rules(&mut rules, r);
        }
        if let Some(oh) = &file.office_hours {
            if let Some(s) = &oh.standard {
                check_day(origin, "the standard day", s)?;
                standard = Some((origin.clone(), s.clone()));
            }
            for w in WeekdayName::ALL {
                if let Some(h) = oh.weekday(w) {
                    check_day(origin, w.as_str(), h)?;
                    weekdays[w.index()] = Some(h.clone());
                }
            }
        }
        if file.same_day_cutoff.is_some() {
            cutoff = file.same_day_cutoff;
        }
        for d in &file.decisions {
            for day in d
                .days_off
                .iter()
                .chain(&d.make_up_days)
                .chain(&d.removed_days)
            {
                if day.date.0.year() != d.year {
                    return Err(Error::WrongYear {
                        origin: origin.clone(),
                        date: day.date.0,
                        year: d.year,
                    });
                }
            }
            for day in &d.days_off {
                days_off.insert(day.date.0, (day.name.clone(), origin.clone()));
            }
            for day in &d.make_up_days {
                make_up.insert(day.date.0, (day.name.clone(), origin.clone()));
            }
            removed.extend(d.removed_days.iter().map(|d| d.date.0));
        }
    }

    let last_origin = chain.last().map(|(o, _)| o.clone()).unwrap_or_default();
    let standard = match standard {
        Some((_, s)) => s,
        None => DayHours {
            morning: Some(Window::hm(8, 0, 12, 0)),
            afternoon: Some(Window::hm(13, 0, 17, 0)),
        },
    };
    if standard.windows().is_empty() {
        return Err(Error::NoStandardDay {
            origin: last_origin,
        });
    }
    let weekdays: [DayHours; 7] = std::array::from_fn(|i| match &weekdays[i] {
        Some(h) => h.clone(),
        None if rules.rest_days.contains(&WeekdayName::ALL[i]) => DayHours::default(),
        None => standard.clone(),
    });
    let (tz_origin, tz_name) =
        tz_name.unwrap_or_else(|| (last_origin.clone(), "Asia/Ho_Chi_Minh".to_string()));
    let time_zone = jiff::tz::TimeZone::get(&tz_name).map_err(|_| Error::TimeZone {
        origin: tz_origin,
        name: tz_name.clone(),
    })?;

    for (date, (_, origin)) in &make_up {
        let weekday = WeekdayName::of(*date);
        if !rules.rest_days.contains(&weekday) {
            return Err(Error::MakeUpAlreadyWorking {
                origin: origin.clone(),
                date: *date,
                weekday,
            });
        }
        let statutory =
            holidays::by_rules(&rules, date.year()).map_err(|source| Error::Holidays {
                origin: origin.clone(),
                source,
            })?;
        let off = days_off.get(date).map(|(n, _)| n.clone()).or_else(|| {
            statutory
                .iter()
                .find(|h| h.date == *date && !removed.contains(date))
                .map(|h| h.name.clone())
        });
        if let Some(name) = off {
            return Err(Error::MakeUpIsDayOff {
                origin: origin.clone(),
                date: *date,
                name,
            });
        }
    }

    Ok(CalendarSpec {
        name,
        time_zone,
        time_zone_name: tz_name,
        rules,
        standard,
        weekdays,
        same_day_cutoff: cutoff,
        days_off: days_off.into_iter().map(|(d, (n, _))| (d, n)).collect(),
        make_up_days: make_up.into_iter().map(|(d, (n, _))| (d, n)).collect(),
        removed_days: removed,
    })
}

fn apply_rules(rules: &mut HolidayRules, r: &HolidayRulesFile) {
    if let Some(v) = &r.rest_days {
        rules.rest_days = v.iter().copied().collect();
    }
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = r.$f { rules.$f = v; } )* };
    }
    set!(
        new_year,
        tet_days_before,
        tet_days_after,
        hung_kings,
        victory_day,
        labour_day,
        national_day,
        national_day_adjacent,
        days_in_lieu,
        tet_saturday_in_lieu
    );
    if let Some(from) = r.culture_day_from {
        rules.culture_day_from = Some(from);
    }
    if r.culture_day == Some(false) {
        rules.culture_day_from = None;
    }
}

fn check_day(origin: &str, day: &str, h: &DayHours) -> Result<(), Error> {
    for w in h.windows() {
        if w.from >= w.to {
            return Err(Error::EmptyWindow {
                origin: origin.to_string(),
                day: day.to_string(),
                window: w,
            });
        }
    }
    if let (Some(m), Some(a)) = (h.morning, h.afternoon)
        && m.to > a.from
    {
        return Err(Error::Overlap {
            origin: origin.to_string(),
            day: day.to_string(),
            morning: m,
            afternoon: a,
        });
    }
    Ok(())
}
