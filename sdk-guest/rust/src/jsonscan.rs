//! A few values out of a JSON document without decoding it.
//!
//! The pagination helper needs a few values out of every page (the items array, the next
//! cursor, the page count) and should not copy a megabyte page to get them. These functions
//! return subslices of valid JSON instead; callers check validity once (see [`is_valid`]).

/// Returns the value at `path` in the valid JSON document `data`, if it is there. `path` is a
/// dot-separated list of object keys (`"meta.next_cursor"`); `""` is the whole document.
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

/// Returns the number of elements of `arr`, a valid JSON array.
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

/// Returns the index just past the JSON string that starts at `b[i]`.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
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

/// Reports whether `data` is one valid JSON value, without building it.
pub(crate) fn is_valid(data: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
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

    #[test]
    fn validity() {
        assert!(is_valid(br#"{"a":[1,2,{"b":null}]}"#));
        assert!(!is_valid(br#"{"a":"#));
        assert!(!is_valid(b"<html>"));
    }
}
