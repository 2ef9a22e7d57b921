//! The code lists: every coded column of the registers draws its values from
//! one of the enums below, and `codelists/*.csv` is written from the same
//! tables, so the data and its code lists cannot drift apart.
//!
//! The codes are plausible but synthetic. Real lists change between years;
//! downstream stages read these files as configuration.
//!
//! A few register rows deliberately carry a code that is *not* in its list
//! ([`UNKNOWN_CODE_RATE`], the codes in the `UNKNOWN_*` constants), so that
//! unknown-code handling downstream has something to count.

use std::fmt::Write as _;

/// Share of coded values replaced by a code absent from the list.
pub(crate) const UNKNOWN_CODE_RATE: f64 = 0.000_1;

/// Defines a code list: an enum, its `ALL` table and `code`/`label`/`group`.
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $variant:ident => ($code:literal, $label:literal, $group:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum $name {
            $( $variant, )+
        }

        impl $name {
            /// Every code, in code-list order.
            pub(crate) const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The code as written in the registers.
            pub(crate) fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }

            /// The human-readable label (Swedish, as in the source registers).
            pub(crate) fn label(self) -> &'static str {
                match self { $( $name::$variant => $label, )+ }
            }

            /// The analysis group the code belongs to.
            pub(crate) fn group(self) -> &'static str {
                match self { $( $name::$variant => $group, )+ }
            }
        }
    };
}

code_list! {
    /// *Försörjningshinder*: why an EB household cannot support itself
    /// (docs/background.md, the registers).
    Hinder {
        UnemployedWaiting => ("11", "Arbetslös, väntar på ersättning", "unemployment"),
        UnemployedInsufficient => ("12", "Arbetslös, otillräcklig ersättning", "unemployment"),
        UnemployedNoBenefit => ("13", "Arbetslös, ingen ersättning", "unemployment"),
        SickCertified => ("21", "Sjukskriven med läkarintyg", "sickness"),
        SicknessCompensation => ("22", "Sjuk- eller aktivitetsersättning", "sickness"),
        IllHealthUncertified => ("23", "Ohälsa utan läkarintyg", "sickness"),
        SocialObstacles => ("31", "Sociala hinder", "social"),
        LanguageObstacle => ("41", "Språkhinder", "language"),
        SfiStudent => ("42", "Studerande vid SFI", "language"),
        ParentalLeave => ("51", "Föräldraledig", "other"),
        NoEstablishmentBenefit => ("52", "Saknar etableringsersättning", "other"),
        InsufficientIncome => ("53", "Otillräcklig inkomst av arbete", "other"),
        OtherObstacle => ("59", "Annat försörjningshinder", "other"),
    }
}

code_list! {
    /// AF programme codes.
    Program {
        JobGuarantee => ("JOB", "Jobb- och utvecklingsgarantin", "guarantee"),
        YouthGuarantee => ("UGA", "Jobbgarantin för ungdomar", "guarantee"),
        LabourMarketTraining => ("AMU", "Arbetsmarknadsutbildning", "training"),
        PreparatoryTraining => ("FUB", "Förberedande utbildning", "training"),
        WorkPractice => ("PRA", "Arbetspraktik", "practice"),
        TryOutPlacement => ("PRO", "Prova-på-plats", "practice"),
        NewStartJob => ("NYS", "Nystartsjobb", "subsidised_employment"),
        WageSubsidy => ("LON", "Lönebidrag", "subsidised_employment"),
        ExtraJob => ("EXT", "Extratjänst", "subsidised_employment"),
        IntroductionJob => ("INT", "Introduktionsjobb", "subsidised_employment"),
        Establishment => ("ETB", "Etableringsprogrammet", "other"),
        StartUp => ("STA", "Stöd till start av näringsverksamhet", "other"),
    }
}

code_list! {
    /// AF job-seeker category (*sökandekategori*).
    Category {
        OpenlyUnemployed => ("11", "Öppet arbetslös", "unemployed"),
        PartTimeUnemployed => ("12", "Deltidsarbetslös", "part_time"),
        HourlyEmployed => ("13", "Timanställd", "part_time"),
        TemporaryEmployed => ("14", "Tillfälligt anställd", "part_time"),
        JobChanger => ("21", "Ombytessökande", "employed"),
        WithObstacle => ("22", "Arbetssökande med förhinder", "obstacle"),
        ProgrammeActivitySupport => ("34", "I program med aktivitetsstöd", "programme"),
        ProgrammeEstablishment => ("35", "I etableringsprogrammet", "programme"),
        SubsidisedEmployment => ("41", "I anställning med stöd", "subsidised"),
    }
}

code_list! {
    /// Why an AF spell ended. `transfer` marks a spell followed by another
    /// spell of the same registration (the job seeker stays registered).
    Exit {
        WorkFullTime => ("01", "Arbete utan stöd, heltid", "work"),
        WorkPartTime => ("02", "Arbete utan stöd, deltid", "work"),
        WorkTemporary => ("03", "Tidsbegränsat arbete", "work"),
        WorkNewStart => ("04", "Nystartsjobb", "work_subsidised"),
        WorkWageSubsidy => ("05", "Anställning med lönestöd", "work_subsidised"),
        Studies => ("06", "Reguljär utbildning", "studies"),
        Other => ("07", "Övrig orsak (flytt, sjukdom, föräldraledighet)", "other"),
        ContactLost => ("08", "Kontakt upphört", "unknown"),
        Unknown => ("09", "Okänd orsak", "unknown"),
        Transfer => ("20", "Övergång till annan sökandekategori eller program", "transfer"),
    }
}

code_list! {
    /// Region of birth.
    Region {
        Sweden => ("01", "Sverige", "sweden"),
        Nordic => ("02", "Norden utom Sverige", "nordic"),
        Eu => ("03", "EU27 utom Norden", "eu"),
        EuropeOther => ("04", "Europa utom EU27 och Norden", "rest_of_world"),
        Africa => ("05", "Afrika", "rest_of_world"),
        Asia => ("06", "Asien", "rest_of_world"),
        NorthAmerica => ("07", "Nordamerika", "rest_of_world"),
        SouthAmerica => ("08", "Sydamerika", "rest_of_world"),
        Oceania => ("09", "Oceanien", "rest_of_world"),
        Unknown => ("99", "Okänt födelseland", "unknown"),
    }
}

code_list! {
    /// Highest completed education, SUN 2000 levels.
    Sun {
        PrimaryShort => ("100", "Förgymnasial utbildning kortare än 9 år", "compulsory"),
        Primary => ("200", "Förgymnasial utbildning 9 (10) år", "compulsory"),
        SecondaryShort => ("310", "Gymnasial utbildning högst 2 år", "upper_secondary"),
        Secondary => ("320", "Gymnasial utbildning 3 år", "upper_secondary"),
        PostSecondaryShort => ("410", "Eftergymnasial utbildning kortare än 2 år", "post_secondary"),
        PostSecondary2 => ("520", "Eftergymnasial utbildning 2 år", "post_secondary"),
        PostSecondary3 => ("530", "Eftergymnasial utbildning 3 år eller mer", "post_secondary"),
        Doctoral => ("640", "Forskarutbildning", "post_secondary"),
        Missing => ("999", "Uppgift saknas", "unknown"),
    }
}

code_list! {
    /// Employment status in November (LISA `SyssStatus`).
    Employment {
        Employed => ("1", "Förvärvsarbetande", "employed"),
        NotEmployed => ("5", "Ej förvärvsarbetande", "not_employed"),
    }
}

/// Codes that look right but are in no list, one per coded column.
pub(crate) const UNKNOWN_HINDER: &str = "19";
/// See [`UNKNOWN_HINDER`].
pub(crate) const UNKNOWN_PROGRAM: &str = "XAR";
/// See [`UNKNOWN_HINDER`].
pub(crate) const UNKNOWN_CATEGORY: &str = "98";
/// See [`UNKNOWN_HINDER`].
pub(crate) const UNKNOWN_EXIT: &str = "15";
/// See [`UNKNOWN_HINDER`].
pub(crate) const UNKNOWN_REGION: &str = "10";
/// See [`UNKNOWN_HINDER`].
pub(crate) const UNKNOWN_SUN: &str = "600";

/// One code-list file: its name under `codelists/` and its CSV text.
pub(crate) struct CodeListFile {
    /// File name, e.g. `program.csv`.
    pub name: &'static str,
    /// The whole file.
    pub text: String,
}

/// Renders a `code,label,group` list.
fn grouped<T: Copy>(
    items: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    group: fn(T) -> &'static str,
) -> String {
    let mut out = String::from("code,label,group\n");
    for &item in items {
        push_row(&mut out, &[code(item), label(item), group(item)]);
    }
    out
}

/// Appends one CSV row, quoting fields that need it.
pub(crate) fn push_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}

/// Every fixed code list (all but `kommun.csv`, which depends on the preset).
pub(crate) fn fixed_lists() -> Vec<CodeListFile> {
    vec![
        CodeListFile {
            name: "forsorjningshinder.csv",
            text: grouped(Hinder::ALL, Hinder::code, Hinder::label, Hinder::group),
        },
        CodeListFile {
            name: "program.csv",
            text: grouped(Program::ALL, Program::code, Program::label, Program::group),
        },
        CodeListFile {
            name: "sokandekategori.csv",
            text: grouped(
                Category::ALL,
                Category::code,
                Category::label,
                Category::group,
            ),
        },
        CodeListFile {
            name: "avslutsorsak.csv",
            text: grouped(Exit::ALL, Exit::code, Exit::label, Exit::group),
        },
        CodeListFile {
            name: "fodelseregion.csv",
            text: grouped(Region::ALL, Region::code, Region::label, Region::group),
        },
        CodeListFile {
            name: "sun.csv",
            text: grouped(Sun::ALL, Sun::code, Sun::label, Sun::group),
        },
        CodeListFile {
            name: "syssstatus.csv",
            text: grouped(
                Employment::ALL,
                Employment::code,
                Employment::label,
                Employment::group,
            ),
        },
    ]
}

/// Renders `kommun.csv`: `code,name,county,county_name,population`.
pub(crate) fn kommun_list(rows: &[(String, String, &str, &str, u64)]) -> CodeListFile {
    let mut text = String::from("code,name,county,county_name,population\n");
    for (code, name, county, county_name, population) in rows {
        let mut pop = String::new();
        let _ = write!(pop, "{population}");
        push_row(&mut text, &[code, name, county, county_name, &pop]);
    }
    CodeListFile {
        name: "kommun.csv",
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn assert_unique(codes: impl Iterator<Item = &'static str>, unknown: &str) {
        let mut seen = HashSet::new();
        for code in codes {
            assert!(seen.insert(code), "duplicate code {code}");
        }
        assert!(!seen.contains(unknown), "unknown code {unknown} is listed");
    }

    #[test]
    fn codes_are_unique_and_unknown_codes_are_absent() {
        assert_unique(Hinder::ALL.iter().map(|c| c.code()), UNKNOWN_HINDER);
        assert_unique(Program::ALL.iter().map(|c| c.code()), UNKNOWN_PROGRAM);
        assert_unique(Category::ALL.iter().map(|c| c.code()), UNKNOWN_CATEGORY);
        assert_unique(Exit::ALL.iter().map(|c| c.code()), UNKNOWN_EXIT);
        assert_unique(Region::ALL.iter().map(|c| c.code()), UNKNOWN_REGION);
        assert_unique(Sun::ALL.iter().map(|c| c.code()), UNKNOWN_SUN);
    }

    #[test]
    fn guarantee_group_holds_exactly_the_two_guarantees() {
        let guarantees: Vec<_> = Program::ALL
            .iter()
            .filter(|p| p.group() == "guarantee")
            .collect();
        assert_eq!(
            guarantees,
            [&Program::JobGuarantee, &Program::YouthGuarantee]
        );
    }

    #[test]
    fn lists_render_with_header_and_one_row_per_code() {
        let lists = fixed_lists();
        let program = lists.iter().find(|l| l.name == "program.csv").unwrap();
        let mut lines = program.text.lines();
        assert_eq!(lines.next(), Some("code,label,group"));
        assert_eq!(lines.count(), Program::ALL.len());
        let mut row = String::new();
        push_row(&mut row, &["a,b", "say \"hi\""]);
        assert_eq!(row, "\"a,b\",\"say \"\"hi\"\"\"\n");
    }
}
