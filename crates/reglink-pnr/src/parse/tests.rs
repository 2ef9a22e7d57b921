use super::*;
use crate::pnr::Sex;

fn date(year: i32, month: u8, day: u8) -> Date {
    Date::new(year, month, day).expect("test date is valid")
}

/// A reference date well after every birth date used below.
fn reference() -> Date {
    date(2024, 3, 15)
}

/// Appends the correct check digit to eleven digits `YYYYMMDDNNN`, whether or
/// not they form a valid date, so a test can isolate one fault.
fn twelve(first_eleven: &str) -> String {
    let bytes: &[u8; 11] = first_eleven.as_bytes().try_into().expect("eleven digits");
    let mut payload = [0; 9];
    payload.copy_from_slice(&bytes[2..]);
    format!("{first_eleven}{}", luhn::check_digit(&payload))
}

/// `YYMMDD`, separator, `NNN` and the correct check digit.
fn ten(yymmdd: &str, separator: &str, nnn: &str) -> String {
    let digits = format!("{yymmdd}{nnn}");
    let payload: [u8; 9] = digits.as_bytes().try_into().expect("nine digits");
    format!("{yymmdd}{separator}{nnn}{}", luhn::check_digit(&payload))
}

fn parse(input: &str) -> Result<Pnr, PnrError> {
    Pnr::parse(input, reference())
}

fn birth_date_of(input: &str, reference: Date) -> Result<Date, PnrError> {
    Pnr::parse(input, reference).map(|pnr| pnr.birth_date())
}

#[test]
fn every_form_of_one_person_parses_to_one_number() {
    let expected = Pnr::from_parts(date(1981, 12, 18), 987, false).unwrap();
    for input in [
        "198112189876",
        "19811218-9876",
        "811218-9876",
        "8112189876",
        "  811218-9876\t",
        "\r\n198112189876 \n",
    ] {
        assert_eq!(parse(input), Ok(expected), "{input:?}");
    }
    assert_eq!(Pnr::parse_bytes(b"811218-9876", reference()), Ok(expected));
}

#[test]
fn parsed_fields() {
    let pnr = parse("811218-9876").unwrap();
    assert_eq!(pnr.normalised(), b"198112189876");
    assert_eq!(pnr.birth_date(), date(1981, 12, 18));
    assert_eq!(pnr.birth_number(), 987);
    assert_eq!(pnr.sex(), Sex::Male);
    assert!(!pnr.is_coordination());
}

#[test]
fn birth_numbers_000_and_999_are_accepted() {
    for nnn in ["000", "999"] {
        let pnr = parse(&ten("811218", "-", nnn)).unwrap();
        assert_eq!(pnr.birth_number(), nnn.parse::<u16>().unwrap());
    }
}

#[test]
fn samordningsnummer_days_61_to_91() {
    let first = parse(&ten("811261", "-", "123")).unwrap();
    assert!(first.is_coordination());
    assert_eq!(first.birth_date(), date(1981, 12, 1));
    assert_eq!(&first.normalised()[..8], b"19811261");

    let last = parse(&twelve("19811291123")).unwrap();
    assert!(last.is_coordination());
    assert_eq!(last.birth_date(), date(1981, 12, 31));
}

#[test]
fn empty() {
    assert_eq!(parse(""), Err(PnrError::Empty));
    assert_eq!(parse(" \t\r\n"), Err(PnrError::Empty));
}

#[test]
fn length() {
    assert_eq!(parse("811218987"), Err(PnrError::Length { len: 9 }));
    assert_eq!(parse("  81121898 "), Err(PnrError::Length { len: 8 }));
    assert_eq!(parse("1"), Err(PnrError::Length { len: 1 }));
    assert_eq!(parse("19811218--9876"), Err(PnrError::Length { len: 14 }));
    assert_eq!(
        parse("1981121898760"),
        Err(PnrError::Separator { position: 8 })
    );
    assert_eq!(parse("19811218987601"), Err(PnrError::Length { len: 14 }));
}

#[test]
fn character() {
    assert_eq!(
        parse("81121x-9876"),
        Err(PnrError::Character { position: 5 })
    );
    assert_eq!(
        parse("1981121a9876"),
        Err(PnrError::Character { position: 7 })
    );
    assert_eq!(
        parse("811218-98x6"),
        Err(PnrError::Character { position: 9 })
    );
    // Positions count from the untrimmed input.
    assert_eq!(
        parse("  81121x-9876"),
        Err(PnrError::Character { position: 7 })
    );
    // A separator where a digit belongs.
    assert_eq!(
        parse("811218-987-"),
        Err(PnrError::Character { position: 10 })
    );
    assert_eq!(
        parse("81121-89876"),
        Err(PnrError::Character { position: 5 })
    );
    // Whitespace inside the number is not trimmed.
    assert_eq!(
        parse("811218 -9876"),
        Err(PnrError::Character { position: 6 })
    );
    // Non-ASCII: the en dash is three bytes, so this is read as a
    // thirteen-byte form whose byte 6 is not a digit.
    assert_eq!(
        parse("811218\u{2013}9876"),
        Err(PnrError::Character { position: 6 })
    );
}

#[test]
fn separator() {
    assert_eq!(
        parse("811218 9876"),
        Err(PnrError::Separator { position: 6 })
    );
    assert_eq!(
        parse("811218/9876"),
        Err(PnrError::Separator { position: 6 })
    );
    assert_eq!(
        parse("19811218 9876"),
        Err(PnrError::Separator { position: 8 })
    );
    assert_eq!(
        parse("19811218+9876"),
        Err(PnrError::Separator { position: 8 })
    );
    assert_eq!(
        parse(" 19811218_9876"),
        Err(PnrError::Separator { position: 9 })
    );
}

#[test]
fn first_fault_from_the_left_wins() {
    assert_eq!(
        parse("8x1218 9876"),
        Err(PnrError::Character { position: 1 })
    );
    assert_eq!(
        parse("811218 98x6"),
        Err(PnrError::Separator { position: 6 })
    );
}

#[test]
fn month() {
    assert_eq!(parse(&twelve("19810018123")), Err(PnrError::Month));
    assert_eq!(parse(&twelve("19811318123")), Err(PnrError::Month));
    assert_eq!(parse(&ten("819918", "-", "123")), Err(PnrError::Month));
    assert!(parse(&twelve("19811218123")).is_ok(), "control");
}

#[test]
fn day() {
    for yyyymmdd in [
        "19811200", // day zero
        "19811232", "19811160", // neither a day nor a coordination day
        "19811292", // coordination day 32
        "19810431", // 31 April
        "19810230", "19810290", // coordination number for 30 February
        "19810229", // 1981 is a common year
        "19000229", // so is 1900
        "19810289", // coordination 29 February in a common year
    ] {
        assert_eq!(
            parse(&twelve(&format!("{yyyymmdd}123"))),
            Err(PnrError::Day),
            "{yyyymmdd}"
        );
    }
    assert!(parse(&twelve("20000229123")).is_ok(), "2000 is a leap year");
    assert!(
        parse(&twelve("20000289123")).is_ok(),
        "coordination leap day"
    );
}

#[test]
fn future_birth_date() {
    // The reference date is 2024-03-15.
    assert_eq!(
        parse(&twelve("20240316123")),
        Err(PnrError::FutureBirthDate)
    );
    assert_eq!(
        parse(&twelve("20240376123")),
        Err(PnrError::FutureBirthDate)
    );
    assert_eq!(
        parse(&twelve("21000101123")),
        Err(PnrError::FutureBirthDate)
    );
    assert!(
        parse(&twelve("20240315123")).is_ok(),
        "born on the reference date"
    );
    assert!(
        parse(&twelve("20240375123")).is_ok(),
        "coordination, same day"
    );
}

#[test]
fn checksum() {
    assert_eq!(parse("811218-9875"), Err(PnrError::Checksum));
    assert_eq!(parse("198112189870"), Err(PnrError::Checksum));
    // Adjacent transposition of the birth number digits.
    assert_eq!(parse("811218-8976"), Err(PnrError::Checksum));
}

#[test]
fn year_out_of_range_for_a_reference_date_near_year_zero() {
    let early = date(50, 6, 1);
    // Aged 0..=99 in year 50: born in year 20, fine.
    assert_eq!(
        birth_date_of(&ten("200101", "-", "123"), early),
        Ok(date(20, 1, 1))
    );
    // With '+', a century earlier: year -80, which has no four-digit form.
    assert_eq!(
        birth_date_of(&ten("200101", "+", "123"), early),
        Err(PnrError::YearOutOfRange)
    );
    let late = date(10_020, 1, 1);
    assert_eq!(
        birth_date_of(&ten("200101", "-", "123"), late),
        Err(PnrError::YearOutOfRange)
    );
    // Twelve-digit numbers do not depend on the reference for their century.
    assert_eq!(
        birth_date_of(&twelve("00200101123"), early),
        Ok(date(20, 1, 1))
    );
}

#[test]
fn century_birthday_on_the_reference_date_is_age_zero() {
    assert_eq!(
        birth_date_of(&ten("240315", "-", "123"), reference()),
        Ok(date(2024, 3, 15))
    );
    assert_eq!(
        birth_date_of(&ten("240315", "", "123"), reference()),
        Ok(date(2024, 3, 15))
    );
}

#[test]
fn century_birthday_the_day_after_the_reference_date_is_age_99() {
    assert_eq!(
        birth_date_of(&ten("240316", "-", "123"), reference()),
        Ok(date(1924, 3, 16))
    );
    assert_eq!(
        birth_date_of(&ten("241231", "", "123"), reference()),
        Ok(date(1924, 12, 31))
    );
    // Earlier year digits than the reference year stay in this century.
    assert_eq!(
        birth_date_of(&ten("000101", "-", "123"), reference()),
        Ok(date(2000, 1, 1))
    );
    assert_eq!(
        birth_date_of(&ten("991231", "-", "123"), reference()),
        Ok(date(1999, 12, 31))
    );
}

#[test]
fn century_plus_is_a_century_earlier() {
    assert_eq!(
        birth_date_of(&ten("240315", "+", "123"), reference()),
        Ok(date(1924, 3, 15))
    );
    assert_eq!(
        birth_date_of(&ten("240316", "+", "123"), reference()),
        Ok(date(1824, 3, 16))
    );
    assert_eq!(
        birth_date_of(&ten("991231", "+", "123"), reference()),
        Ok(date(1899, 12, 31))
    );
}

#[test]
fn century_for_coordination_numbers_uses_the_real_day() {
    // Day 75 is the 15th: born on the reference date.
    assert_eq!(
        birth_date_of(&ten("240375", "-", "123"), reference()),
        Ok(date(2024, 3, 15))
    );
    assert_eq!(
        birth_date_of(&ten("240376", "-", "123"), reference()),
        Ok(date(1924, 3, 16))
    );
}

#[test]
fn century_leap_day() {
    // 2024 and 1924 are both leap years.
    let number = ten("240229", "-", "123");
    assert_eq!(
        birth_date_of(&number, date(2024, 2, 29)),
        Ok(date(2024, 2, 29))
    );
    assert_eq!(
        birth_date_of(&number, date(2024, 2, 28)),
        Ok(date(1924, 2, 29))
    );

    // 2000 is a leap year, 1900 and 2100 are not.
    let minus = ten("000229", "-", "123");
    let plus = ten("000229", "+", "123");
    assert_eq!(birth_date_of(&minus, reference()), Ok(date(2000, 2, 29)));
    assert_eq!(
        birth_date_of(&plus, reference()),
        Err(PnrError::Day),
        "1900-02-29"
    );
    // On 2100-03-01 someone aged 0..=99 with these digits would be born on
    // 2100-02-29, which does not exist: not moved to 2000.
    let in_2100 = date(2100, 3, 1);
    assert_eq!(birth_date_of(&minus, in_2100), Err(PnrError::Day));
    assert_eq!(birth_date_of(&plus, in_2100), Ok(date(2000, 2, 29)));
}

#[test]
fn twelve_digit_century_ignores_the_separator_rules() {
    // Over 100 and still written with '-' in the twelve-digit form: the
    // century is explicit, so it is accepted.
    assert_eq!(
        birth_date_of("18811218-9876", reference()),
        Ok(date(1881, 12, 18))
    );
}
