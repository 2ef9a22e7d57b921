//! Code lists: `CodeList::load` on any bytes written to a temporary file.
//!
//! Beyond "never panics": a loaded list has at least one code, one label per
//! code, finds each of its codes at its own index, and every code's group is
//! one of its groups.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reglink_link::CodeList;

fuzz_target!(|data: &[u8]| {
    let file = reglink_fuzz::scratch_file("codes.csv");
    // The first byte says whether to name the columns or take the defaults.
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    std::fs::write(&file, bytes).expect("write the code list");
    let (code, label, group) = match mode % 3 {
        0 => (None, None, None),
        1 => (Some("code"), Some("name"), Some("county")),
        _ => (Some("a"), None, Some("b")),
    };
    let Ok(list) = CodeList::load("fuzz", &file, code, label, group) else {
        return;
    };
    assert!(!list.codes.is_empty(), "a loaded list has codes");
    assert_eq!(list.codes.len(), list.labels.len(), "one label per code");
    for (i, c) in list.codes.iter().enumerate() {
        assert_eq!(list.find(c), Some(i as u32), "a code is found at its index");
    }
    if let Some(group_of) = &list.group_of {
        assert_eq!(group_of.len(), list.codes.len(), "one group per code");
        let all: Vec<u32> = (0..list.groups.len() as u32).collect();
        for (c, &g) in group_of.iter().enumerate() {
            assert!(
                (g as usize) < list.groups.len(),
                "a group index is in range"
            );
            assert!(
                list.code_in_groups(c as u32, &all),
                "a code is in its group"
            );
            assert_eq!(list.find_group(&list.groups[g as usize]), Some(g));
        }
    }
});
