//! A few values out of a JSON document without decoding it.
//!
//! The pagination helper needs a few values out of every page (the items array, the next
//! cursor, the page count) and should not copy a megabyte page to get them. [`scan`] checks a
//! page and finds them in one pass; the other functions return subslices of JSON already
//! known to be valid.

use std::ops::Range;

/// Returns the value at `path` in the valid JSON document `data`, if it is there. `path` is a
/// dot-separated list of object keys (`"meta.next_cursor"`); `""` is the whole document.
/// (The pager finds its values with [`scan`], in the pass that checks the page; the tests
/// hold `scan` to `lookup`.)
#[cfg(test)]
pub(crate) fn lookup<'a>(data: &'a [u8], path: &str) -> Option<&'a [u8]> {
    let mut v = trim_space(data);
    if path.is_empty() {
        return if v.is_empty() { None } else { Some(v) };
    }
    for key in path.split('.') {
        v = member(v, key)?;
    }
    Some(v)
}

/// Returns the value of `key` in `obj`, a valid JSON value, if `obj` is an object holding it.
#[cfg(test)]
fn member<'a>(obj: &'a [u8], key: &str) -> Option<&'a [u8]> {
    if obj.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    loop {
        i = skip_space(obj, i);
        if i >= obj.len() || obj[i] != b'"' {
            return None; // '}' or the end
        }
        let k_end = skip_string(obj, i);
        let matched = key_equals(&obj[i..k_end], key);
        i = skip_space(obj, k_end) + 1; // past ':'
        i = skip_space(obj, i);
        let v_end = skip_value(obj, i);
        if matched {
            return Some(&obj[i..v_end]);
        }
        i = skip_space(obj, v_end);
        if i < obj.len() && obj[i] == b',' {
            i += 1;
        }
    }
}

/// Reports whether the JSON string `quoted` equals `key`.
fn key_equals(quoted: &[u8], key: &str) -> bool {
    if quoted.len() < 2 {
        return false;
    }
    let raw = &quoted[1..quoted.len() - 1];
    if !raw.contains(&b'\\') {
        return raw == key.as_bytes();
    }
    matches!(serde_json::from_slice::<String>(quoted), Ok(s) if s == key)
}

/// Returns the elements of `arr`, a valid JSON array, as subslices of it.
pub(crate) fn split_array(arr: &[u8]) -> Vec<&[u8]> {
    let mut elems = Vec::new();
    each_element(arr, |e| elems.push(e));
    elems
}

/// Reports whether `arr`, trimmed and starting with `[`, is an empty array: only whitespace
/// between its brackets and nothing after them. Anything else, malformed or not, is not empty,
/// so that a bad batch reaches the host, which refuses it, instead of vanishing.
pub(crate) fn is_empty_array(arr: &[u8]) -> bool {
    let i = skip_space(arr, 1);
    i + 1 == arr.len() && arr[i] == b']'
}

/// Returns the number of elements of `arr`, a valid JSON array.
#[cfg(test)]
pub(crate) fn count_array(arr: &[u8]) -> usize {
    let mut n = 0;
    each_element(arr, |_| n += 1);
    n
}

fn each_element<'a>(arr: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    if arr.first() != Some(&b'[') {
        return;
    }
    let mut i = 1;
    loop {
        i = skip_space(arr, i);
        if i >= arr.len() || arr[i] == b']' {
            return;
        }
        let end = skip_value(arr, i);
        f(&arr[i..end]);
        i = skip_space(arr, end);
        if i < arr.len() && arr[i] == b',' {
            i += 1;
        }
    }
}

/// Returns the index just past the JSON value that starts at `b[i]`.
fn skip_value(b: &[u8], mut i: usize) -> usize {
    if i >= b.len() {
        return i;
    }
    match b[i] {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => {
            // number, true, false, null
            while i < b.len() && !b",}] \t\r\n".contains(&b[i]) {
                i += 1;
            }
            i
        }
    }
}

/// Returns the index just past the JSON string that starts at `b[i]` (the end of `b` if the
/// string does not end).
fn skip_string(b: &[u8], i: usize) -> usize {
    string_end(b, i + 1).unwrap_or(b.len())
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

pub(crate) fn trim_space(b: &[u8]) -> &[u8] {
    let b = &b[skip_space(b, 0)..];
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
        end -= 1;
    }
    &b[..end]
}

/// Reports whether `data` is one valid JSON value, as serde_json judges it: what [`scan`]
/// must agree with.
#[cfg(test)]
pub(crate) fn is_valid(data: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
}

/// What [`scan`] found at one of the paths it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// Where the value is in the document; `None` when the document has none at the path.
    pub range: Option<Range<usize>>,
    /// The number of elements of the value, when it is an array; 0 otherwise.
    pub count: usize,
}

/// Checks that `data` is one valid JSON value and finds the values at `paths` (at most 32) in
/// the same pass, with the number of elements of each that is an array. A path is a
/// dot-separated list of object keys (`"meta.next_cursor"`), `""` the whole document; at each
/// level the first member with the key is the one followed, as `lookup` does (the tests hold
/// `scan` to `lookup` and `count_array`). Returns `None` when `data` is not JSON.
///
/// It accepts exactly what `serde_json::from_slice::<serde::de::IgnoredAny>` accepts (the
/// tests hold it to that too): JSON (RFC 8259) with any whitespace around it, without a
/// nesting limit, and without checking that strings are UTF-8; a string may not hold a raw
/// control character (below 0x20).
pub(crate) fn scan(data: &[u8], paths: &[&str]) -> Option<Vec<Found>> {
    assert!(paths.len() <= 32, "jsonscan::scan: more than 32 paths");
    let segs: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            if p.is_empty() {
                Vec::new()
            } else {
                p.split('.').collect()
            }
        })
        .collect();
    let mut found = vec![Found::default(); paths.len()];
    // An open object or array.
    struct Frame {
        obj: bool,
        start: usize,
        // The paths whose value this is.
        targets: u32,
        // For an object, the paths that go on through one of its members, whose key has not
        // been seen yet (the first member of that key is the one lookup takes).
        mask: u32,
        // The elements of an array so far.
        count: usize,
    }
    let mut stack: Vec<Frame> = Vec::new();
    // The paths whose value the next value is, and those that go on through it.
    let (mut targets, mut on) = (0u32, 0u32);
    for (p, s) in segs.iter().enumerate() {
        if s.is_empty() {
            targets |= 1 << p;
        } else {
            on |= 1 << p;
        }
    }
    let mut i = 0;
    loop {
        // A value.
        i = skip_space(data, i);
        let start = i;
        let opened = match *data.get(i)? {
            c @ (b'{' | b'[') => {
                let obj = c == b'{';
                stack.push(Frame {
                    obj,
                    start,
                    targets,
                    mask: if obj { on } else { 0 },
                    count: 0,
                });
                i += 1;
                true
            }
            b'"' => {
                i = string_end(data, i + 1)?;
                false
            }
            b'n' => {
                i = literal_end(data, i, b"null")?;
                false
            }
            b't' => {
                i = literal_end(data, i, b"true")?;
                false
            }
            b'f' => {
                i = literal_end(data, i, b"false")?;
                false
            }
            b'-' | b'0'..=b'9' => {
                i = number_end(data, i)?;
                false
            }
            _ => return None,
        };
        if !opened {
            record(&mut found, targets, start..i, 0);
        }
        // Then a comma, or the ends of the containers that end here.
        let mut accept_comma = !opened;
        loop {
            let top = match stack.last() {
                Some(top) => top,
                None => {
                    // The document's value is complete: only whitespace may follow.
                    return if skip_space(data, i) == data.len() {
                        Some(found)
                    } else {
                        None
                    };
                }
            };
            i = skip_space(data, i);
            match data.get(i) {
                Some(b',') if accept_comma => {
                    i += 1;
                    break;
                }
                Some(b']') if !top.obj => {}
                Some(b'}') if top.obj => {}
                Some(_) if !accept_comma => break, // the first member or element
                _ => return None,
            }
            i += 1;
            let f = stack.pop().unwrap();
            record(&mut found, f.targets, f.start..i, f.count);
            accept_comma = true;
        }
        // The next member or element of the innermost container.
        let depth = stack.len() - 1;
        let top = stack.last_mut().unwrap();
        targets = 0;
        on = 0;
        if top.obj {
            i = skip_space(data, i);
            if data.get(i) != Some(&b'"') {
                return None;
            }
            let key_start = i;
            i = string_end(data, i + 1)?;
            let key = &data[key_start..i];
            i = skip_space(data, i);
            if data.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            let mut m = top.mask;
            while m != 0 {
                let p = m.trailing_zeros() as usize;
                m &= m - 1;
                if key_equals(key, segs[p][depth]) {
                    top.mask &= !(1 << p);
                    if segs[p].len() == depth + 1 {
                        targets |= 1 << p;
                    } else {
                        on |= 1 << p;
                    }
                }
            }
        } else {
            top.count += 1;
        }
    }
}

/// Sets what `scan` found for the paths of `targets`.
fn record(found: &mut [Found], mut targets: u32, range: Range<usize>, count: usize) {
    while targets != 0 {
        let p = targets.trailing_zeros() as usize;
        targets &= targets - 1;
        found[p] = Found {
            range: Some(range.clone()),
            count,
        };
    }
}

/// Returns the index just past the JSON string whose contents start at `b[i]`, just past its
/// opening quote, or `None` if it is not a valid string (unterminated, a raw control character,
/// a bad escape).
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = plain_end(b, i);
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i = escape_end(b, i + 1)?,
            _ => return None, // a control character
        }
    }
}

/// Returns the index of the first byte of `b` from `i` on that a JSON string cannot hold as it
/// is (`"`, `\\` or a control character), or `b.len()` if there is none.
pub(crate) fn plain_end(b: &[u8], i: usize) -> usize {
    plain_run(b, i).0
}

/// Returns what [`plain_end`] returns, and whether the bytes from `i` to there are all ASCII,
/// which then need no UTF-8 check; found in the same pass.
pub(crate) fn plain_run(b: &[u8], mut i: usize) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut seen = 0; // the bytes passed, or-ed together: their high bits
                      // Eight bytes at a time while none is flagged: a word's lowest flagged byte is always a
                      // real one.
    while let Some(w) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        let quote = w ^ (ONES * b'"' as u64);
        let backslash = w ^ (ONES * b'\\' as u64);
        let special =
            (quote.wrapping_sub(ONES) | backslash.wrapping_sub(ONES) | w.wrapping_sub(ONES * 0x20))
                & !w
                & HIGHS;
        if special != 0 {
            let n = special.trailing_zeros() / 8; // the bytes before the flagged one
            seen |= w & ((1 << (n * 8)) - 1);
            return (i + n as usize, seen & HIGHS == 0);
        }
        seen |= w;
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\' | 0..=0x1f) {
        seen |= u64::from(b[i]);
        i += 1;
    }
    (i, seen & HIGHS == 0)
}

/// Returns the index just past the escape sequence that follows a backslash at `b[i - 1]`.
fn escape_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
        b'u' => {
            let hex = b.get(i + 1..i + 5)?;
            if hex.iter().all(|c| c.is_ascii_hexdigit()) {
                Some(i + 5)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Returns the index just past `lit` (`null`, `true` or `false`) at `b[i]`.
pub(crate) fn literal_end(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    if b.get(i..i + lit.len())? == lit {
        Some(i + lit.len())
    } else {
        None
    }
}

/// Returns the index just past the JSON number at `b[i]`.
pub(crate) fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1, // one leading zero, alone
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let j = digits(b, i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(b, i);
        if j == i {
            return None;
        }
        i = j;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_values() {
        let doc = br#" {"data": [1, {"a": "]"}], "meta": {"next": "c\"2", "n": 3, "x": null},
            "esc\u0061ped": true, "s": "a,b}"} "#;
        let tests: &[(&str, Option<&str>)] = &[
            ("", Some(std::str::from_utf8(trim_space(doc)).unwrap())),
            ("data", Some(r#"[1, {"a": "]"}]"#)),
            ("meta.next", Some(r#""c\"2""#)),
            ("meta.n", Some("3")),
            ("meta.x", Some("null")),
            ("escaped", Some("true")),
            ("s", Some(r#""a,b}""#)),
            ("meta.missing", None),
            ("data.a", None),
            ("missing.next", None),
            ("s.x", None),
        ];
        for (path, want) in tests {
            let got = lookup(doc, path).map(|v| std::str::from_utf8(v).unwrap());
            assert_eq!(got, *want, "lookup {:?}", path);
        }
    }

    #[test]
    fn split_and_count() {
        let arr = br#"[ {"id":"a","t":[1,2]} , "x,y", 3,null,[] ]"#;
        let got: Vec<&str> = split_array(arr)
            .into_iter()
            .map(|e| std::str::from_utf8(e).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![r#"{"id":"a","t":[1,2]}"#, r#""x,y""#, "3", "null", "[]"]
        );
        assert_eq!(count_array(arr), 5);
        assert_eq!(count_array(b"[]"), 0);
        assert_eq!(count_array(b"[ ]"), 0);
        assert_eq!(count_array(b"{}"), 0);
    }

    /// Checks `scan` on `doc` against serde_json (validity) and `lookup` and `count_array`
    /// (what it finds).
    fn check_scan(doc: &[u8], paths: &[&str]) {
        let got = scan(doc, paths);
        assert_eq!(
            got.is_some(),
            is_valid(doc),
            "validity of {:?}",
            String::from_utf8_lossy(doc)
        );
        if let Some(found) = got {
            for (path, f) in paths.iter().zip(found) {
                let want = lookup(doc, path);
                let range = f.range.clone();
                assert_eq!(
                    range.map(|r| &doc[r]),
                    want,
                    "lookup {:?} in {:?}",
                    path,
                    String::from_utf8_lossy(doc)
                );
                let want_count = match want {
                    Some(v) if v[0] == b'[' => count_array(v),
                    _ => 0,
                };
                assert_eq!(f.count, want_count, "count {:?} in {:?}", path, doc);
            }
        }
    }

    const SCAN_PATHS: &[&str] = &[
        "",
        "data",
        "meta.next",
        "meta",
        "meta.n",
        "data.a",
        "escaped",
        "s",
        "a.b.c",
        "",
        "x",
    ];

    #[test]
    fn scan_finds_what_lookup_finds() {
        let docs: &[&[u8]] = &[
            br#" {"data": [1, {"a": "]"}], "meta": {"next": "c\"2", "n": 3, "x": null},
            "esc\u0061ped": true, "s": "a,b}"} "#,
            br#"{"data":[{"id":"c-1","notes":"a long string with \\ and \" and \u00e9 in it, longer than a word"},{"id":"c-2","tags":[],"n":-1.5e+3}],"next_cursor":"MTcw"}"#,
            br#"{"meta":{"next":1},"meta":{"next":2},"data":null,"data":[1]}"#,
            br#"{"a":{"b":{"c":[[],[[1]],{"c":2}]}},"a":{"b":{"c":3}}}"#,
            br#"[{"data":[1,2]},"x",0,-0.0,1E9,true,false,null]"#,
            br#""just a string with an escape \/ \b\f\n\r\t and \uABCD""#,
            b"\t\r\n 123 \n",
            br#"{"data":{"id":"x"},"next":{"a":1},"s":"\u00e9\u00E9","x":[ ]}"#,
            "{\"s\":\"caf\u{e9} \u{1F600} \u{7f}\",\"data\":[\"\u{e9}\"]}".as_bytes(),
            b"{}",
            b"[]",
        ];
        for doc in docs {
            check_scan(doc, SCAN_PATHS);
        }
    }

    /// Every document one edit away from valid ones (a byte removed, replaced or inserted,
    /// the end cut off) is judged as serde_json judges it, and where it is valid, `scan`
    /// finds what `lookup` finds.
    #[test]
    fn scan_agrees_with_serde_json_on_near_misses() {
        let docs: &[&[u8]] = &[
            br#"{"data":[{"id":"c-1","notes":"a long string, longer than a word: \\ \" \u00e9 \/ end"},{"id":"c-2","tags":[],"n":-1.5e+3}],"meta":{"next":"c2"}}"#,
            br#"[0, -0.5, 12e-3, 1E+2, true, false, null, "x", [], {}, {"a": [ {} ]}]"#,
            br#" { "x" : "\uD800\udc00" , "escaped" : { "s" : 10 } } "#,
        ];
        let bytes: &[u8] =
            b"\"\\{}[],: \n\t0123456789-+.eEnulltruefalsxa/bu\x00\x01\x1f\x7f\x80\xc3\xff";
        for doc in docs {
            check_scan(doc, SCAN_PATHS);
            for i in 0..=doc.len() {
                check_scan(&doc[..i], SCAN_PATHS);
                if i < doc.len() {
                    let mut d = doc.to_vec();
                    d.remove(i);
                    check_scan(&d, SCAN_PATHS);
                }
                for &c in bytes {
                    let mut d = doc.to_vec();
                    d.insert(i, c);
                    check_scan(&d, SCAN_PATHS);
                    if i < doc.len() {
                        d.remove(i);
                        d[i] = c;
                        check_scan(&d, SCAN_PATHS);
                    }
                }
            }
        }
    }

    /// Short random strings of JSON's own bytes are judged as serde_json judges them.
    #[test]
    fn scan_agrees_with_serde_json_on_noise() {
        let alphabet: &[u8] = b"{}[],:\" \\0-1.e5ntrufalsu\x01";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize
        };
        for _ in 0..200_000 {
            let n = rand() % 12;
            let doc: Vec<u8> = (0..n).map(|_| alphabet[rand() % alphabet.len()]).collect();
            check_scan(&doc, &["", "a"]);
        }
    }

    #[test]
    fn empty_arrays() {
        let tests: &[(&[u8], bool)] = &[
            (b"[]", true),
            (b"[ ]", true),
            (b"[\n\t]", true),
            (b"[", false),
            (b"[ ", false),
            (b"[1]", false),
            (b"[ {}]", false),
            (b"[,]", false),
            (b"[ ]x", false),
            (b"[]]", false),
        ];
        for (arr, want) in tests {
            assert_eq!(is_empty_array(arr), *want, "{:?}", arr);
        }
    }

    #[test]
    fn validity() {
        assert!(is_valid(br#"{"a":[1,2,{"b":null}]}"#));
        assert!(!is_valid(br#"{"a":"#));
        assert!(!is_valid(b"<html>"));
    }
}
