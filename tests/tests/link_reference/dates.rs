//! Dates stepped one day at a time: the reference never computes a date by formula.

/// A calendar date; days are counted by stepping, never by formula.
pub type Date = (i32, u32, u32);

/// A calendar month as `year * 12 + month - 1`, so that `m + 1` is the next month.
pub type Month = i32;

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => panic!("month {month}"),
    }
}

pub fn next_day((y, m, d): Date) -> Date {
    if d < days_in_month(y, m) {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    }
}

/// Number of steps from `a` to `b` (`b >= a`).
pub fn days_between(a: Date, b: Date) -> i64 {
    assert!(a <= b);
    let mut n = 0;
    let mut day = a;
    while day < b {
        day = next_day(day);
        n += 1;
    }
    n
}

pub fn parse_date(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return None;
    }
    let y: i32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let d: u32 = parts[2].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// `202402`, `2024-02`.
pub fn parse_month(text: &str) -> Option<Month> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = digits[..4].parse().ok()?;
    let m: i32 = digits[4..].parse().ok()?;
    if !(1..=12).contains(&m) {
        return None;
    }
    Some(y * 12 + m - 1)
}

pub fn year_of_month(m: Month) -> i32 {
    m.div_euclid(12)
}

pub fn first_day(m: Month) -> Date {
    (m.div_euclid(12), (m.rem_euclid(12) + 1) as u32, 1)
}

pub fn last_day(m: Month) -> Date {
    let (y, mo, _) = first_day(m);
    (y, mo, days_in_month(y, mo))
}

/// The same day of month `months` later. SPEC READING: a day that does not
/// exist in the target month (31 January + 1 month) becomes its last day.
pub fn add_months((y, m, d): Date, months: i32) -> Date {
    let target = y * 12 + m as i32 - 1 + months;
    let (ty, tm, _) = first_day(target);
    (ty, tm, d.min(days_in_month(ty, tm)))
}
