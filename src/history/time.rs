//! Timestamps as histories write them → Unix milliseconds: epoch seconds or milliseconds,
//! ISO 8601 / RFC 3339 (a time without an offset is UTC), Twitter's `Wed Oct 11 06:55:44 +0000
//! 2017`, and `Jun 27, 2014`. Day-first and month-first numeric dates (`1/2/2010`) are
//! ambiguous and refused: map a column in one of the forms above.

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month(name: &str) -> Option<u32> {
    let n = name.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == n).map(|i| i as u32 + 1)
}

/// A clock reading: hours, minutes, seconds, milliseconds.
type Clock = (u32, u32, u32, i64);

fn ms_of(y: i64, mo: u32, d: u32, (h, mi, s, frac_ms): Clock, offset_s: i64) -> Option<i64> {
    let days_in = [
        31,
        if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
            29
        } else {
            28
        },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d == 0 || d > days_in[mo as usize - 1] || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// `+0000`, `+05:30`, `Z`, `-08` → seconds east of UTC.
fn offset(t: &str) -> Option<i64> {
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("gmt") {
        return Some(0);
    }
    let sign = match t.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits
        .get(2..)
        .filter(|s| !s.is_empty())
        .map_or(Some(0), |s| s.parse().ok())?;
    Some(sign * (h * 3600 + m * 60))
}

/// `HH:MM[:SS[.fff]]` → (h, m, s, ms).
fn clock(t: &str) -> Option<Clock> {
    let (hms, frac) = t.split_once(['.', ',']).unwrap_or((t, ""));
    let mut parts = hms.split(':');
    let h = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let s = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if parts.next().is_some() || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ms = format!("{frac:0<3}").get(..3)?.parse().unwrap_or(0);
    Some((h, m, s, ms))
}

fn iso(t: &str) -> Option<i64> {
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let mut d = date.split('-');
    let (y, mo, day) = (d.next()?, d.next()?, d.next()?);
    if y.len() != 4 || d.next().is_some() {
        return None;
    }
    let (y, mo, day) = (y.parse().ok()?, mo.parse().ok()?, day.parse().ok()?);
    if rest.is_empty() {
        return ms_of(y, mo, day, (0, 0, 0, 0), 0);
    }
    // The offset starts at a sign after the clock, a `Z`, or a separate word.
    let split = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, '+' | '-' | 'Z' | 'z' | ' '))
        .map_or(rest.len(), |(i, _)| i);
    let (time, off) = (&rest[..split], rest[split..].trim());
    let c = clock(time)?;
    let off = if off.is_empty() { 0 } else { offset(off)? };
    ms_of(y, mo, day, c, off)
}

/// `Wed Oct 11 06:55:44 +0000 2017`.
fn twitter(t: &str) -> Option<i64> {
    let w: Vec<&str> = t.split_whitespace().collect();
    let [_, mon, day, time, off, year] = w.as_slice() else {
        return None;
    };
    ms_of(
        year.parse().ok()?,
        month(mon)?,
        day.parse().ok()?,
        clock(time)?,
        offset(off)?,
    )
}

/// `Jun 27, 2014` or `27 Jun 2014`.
fn written(t: &str) -> Option<i64> {
    let w: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .collect();
    let [a, b, year] = w.as_slice() else {
        return None;
    };
    let (mon, day) = match month(a) {
        Some(m) => (m, b.parse().ok()?),
        None => (month(b)?, a.parse().ok()?),
    };
    ms_of(year.parse().ok()?, mon, day, (0, 0, 0, 0), 0)
}

/// Epoch seconds (with or without a fraction), milliseconds or microseconds, told apart by
/// magnitude: 10 digits are seconds until the year 2286, 13 are milliseconds.
fn epoch(t: &str) -> Option<i64> {
    let v: f64 = t
        .parse()
        .ok()
        .filter(|_| t.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-'))?;
    let ms = match v.abs() {
        a if a >= 1e14 => v / 1000.0,
        a if a >= 1e11 => v,
        _ => v * 1000.0,
    };
    ms.is_finite().then_some(ms.round() as i64)
}

/// Parses a timestamp; the error says what was not understood.
pub fn parse_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    epoch(t)
        .or_else(|| iso(t))
        .or_else(|| twitter(t))
        .or_else(|| written(t))
        .ok_or_else(|| {
            format!("'{t}' is not a timestamp this reader knows (epoch seconds or ms, ISO 8601, or 'Jun 27, 2014')")
        })
}

/// (year, month, day) of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix milliseconds as `2017-10-11T06:55:44Z`, for reports.
pub fn format_iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{format_iso, parse_ms};

    #[test]
    fn the_forms_histories_use() {
        let t = 1_507_704_944_000; // 2017-10-11T06:55:44Z
        assert_eq!(parse_ms("1507704944"), Ok(t));
        assert_eq!(parse_ms("1507704944000"), Ok(t));
        assert_eq!(parse_ms("1507704944.5"), Ok(t + 500));
        assert_eq!(parse_ms("2017-10-11T06:55:44Z"), Ok(t));
        assert_eq!(parse_ms("2017-10-11T12:25:44.000+05:30"), Ok(t));
        assert_eq!(parse_ms("2017-10-11 06:55:44"), Ok(t));
        assert_eq!(parse_ms("2017-10-10T23:55:44-0700"), Ok(t));
        assert_eq!(parse_ms("Wed Oct 11 06:55:44 +0000 2017"), Ok(t));
        assert_eq!(parse_ms("2017-10-11"), Ok(t - (6 * 3600 + 55 * 60 + 44) * 1000));
        assert_eq!(parse_ms("Jun 27, 2014"), parse_ms("2014-06-27"));
        assert_eq!(parse_ms("27 June 2014"), parse_ms("2014-06-27"));
        assert_eq!(parse_ms("2000-02-29"), Ok(951_782_400_000));
        assert_eq!(format_iso(t), "2017-10-11T06:55:44Z");
        assert_eq!(format_iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(parse_ms(&format_iso(-86_400_000)), Ok(-86_400_000));
    }

    #[test]
    fn what_is_refused() {
        for bad in [
            "21 days ago",
            "1/2/2010 8:26",
            "2017-02-30",
            "2017-13-01",
            "",
            "yesterday",
            "2017-10-11T25:00",
        ] {
            assert!(parse_ms(bad).is_err(), "{bad}");
        }
    }
}
