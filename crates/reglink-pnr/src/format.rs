//! Writing a [`Pnr`] back out in one of its written forms.

use crate::date::Date;
use crate::pnr::Pnr;

/// A written form of a personnummer, for [`Pnr::format`].
///
/// Every form written for a reference date parses back, with that reference
/// date, to the same [`Pnr`] — provided the person is born on or before the
/// reference date and is less than 200 years old then (the ten-digit forms
/// can express only two centuries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// `YYYYMMDDNNNC`, the normal form.
    Twelve,
    /// `YYYYMMDD-NNNC`.
    TwelveDash,
    /// `YYMMDD-NNNC`, or `YYMMDD+NNNC` when the person is 100 or older on the
    /// reference date. The form Skatteverket prints.
    TenSeparated,
    /// `YYMMDDNNNC`. Cannot say that someone is 100 or older, so for such a
    /// person it falls back to the `YYMMDD+NNNC` form.
    Ten,
}

impl Pnr {
    /// Writes the number in `form`; `reference` (the date of the extract)
    /// decides between `-` and `+` in the ten-digit forms and is ignored by
    /// the twelve-digit ones.
    ///
    /// This puts the identifier in a `String` on purpose: use it only where
    /// the number must be written out, never for logging.
    ///
    /// ```
    /// use reglink_pnr::{Date, Form, Pnr};
    ///
    /// let reference = Date::new(2024, 6, 1).unwrap();
    /// let pnr = Pnr::parse("198112189876", reference)?;
    /// assert_eq!(pnr.format(Form::Twelve, reference), "198112189876");
    /// assert_eq!(pnr.format(Form::TwelveDash, reference), "19811218-9876");
    /// assert_eq!(pnr.format(Form::TenSeparated, reference), "811218-9876");
    /// assert_eq!(pnr.format(Form::Ten, reference), "8112189876");
    /// // A century later the same person needs the '+'.
    /// let later = Date::new(2082, 1, 1).unwrap();
    /// assert_eq!(pnr.format(Form::Ten, later), "811218+9876");
    /// # Ok::<(), reglink_pnr::PnrError>(())
    /// ```
    pub fn format(&self, form: Form, reference: Date) -> String {
        let digits = self.normalised();
        let centenarian = self.age_at(reference) >= 100;
        let (body, separator): (&[u8], Option<u8>) = match form {
            Form::Twelve => (digits, None),
            Form::TwelveDash => (digits, Some(b'-')),
            Form::TenSeparated | Form::Ten if centenarian => (&digits[2..], Some(b'+')),
            Form::TenSeparated => (&digits[2..], Some(b'-')),
            Form::Ten => (&digits[2..], None),
        };
        // The separator goes before the last four digits, `NNNC`.
        let (date_part, number_part) = body.split_at(body.len() - 4);
        let mut out = String::with_capacity(13);
        out.extend(date_part.iter().map(|&b| char::from(b)));
        out.extend(separator.map(char::from));
        out.extend(number_part.iter().map(|&b| char::from(b)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> Date {
        Date::new(year, month, day).expect("test date is valid")
    }

    fn hand_checked() -> Pnr {
        // 1981-12-18, birth number 987, check digit 6.
        Pnr::from_parts(date(1981, 12, 18), 987, false).unwrap()
    }

    #[test]
    fn each_form_has_its_shape() {
        let reference = date(2024, 6, 1);
        let pnr = hand_checked();
        assert_eq!(pnr.format(Form::Twelve, reference), "198112189876");
        assert_eq!(pnr.format(Form::TwelveDash, reference), "19811218-9876");
        assert_eq!(pnr.format(Form::TenSeparated, reference), "811218-9876");
        assert_eq!(pnr.format(Form::Ten, reference), "8112189876");
    }

    #[test]
    fn plus_from_the_hundredth_birthday() {
        let pnr = hand_checked();
        let day_before = date(2081, 12, 17);
        let birthday = date(2081, 12, 18);
        assert_eq!(pnr.format(Form::TenSeparated, day_before), "811218-9876");
        assert_eq!(pnr.format(Form::TenSeparated, birthday), "811218+9876");
        assert_eq!(pnr.format(Form::Ten, day_before), "8112189876");
        assert_eq!(
            pnr.format(Form::Ten, birthday),
            "811218+9876",
            "falls back to '+'"
        );
        assert_eq!(pnr.format(Form::Twelve, birthday), "198112189876");
        assert_eq!(pnr.format(Form::TwelveDash, birthday), "19811218-9876");
    }

    #[test]
    fn samordningsnummer_keeps_day_plus_sixty() {
        let pnr = Pnr::from_parts(date(1981, 12, 18), 987, true).unwrap();
        let reference = date(2024, 6, 1);
        let ten = pnr.format(Form::TenSeparated, reference);
        assert_eq!(&ten[..7], "811278-");
    }

    #[test]
    fn leap_day_centenarian_in_a_leap_year() {
        let pnr = Pnr::from_parts(date(1924, 2, 29), 1, false).unwrap();
        assert!(
            pnr.format(Form::TenSeparated, date(2024, 2, 28))
                .contains('-')
        );
        assert!(
            pnr.format(Form::TenSeparated, date(2024, 2, 29))
                .contains('+')
        );
    }
}
