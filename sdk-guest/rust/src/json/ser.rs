//! Encoding: as `serde_json::to_writer`, byte for byte, with strings copied in runs that need
//! no escape, found eight bytes at a time. serde_json checks a string byte by byte against its
//! escape table, which inside WebAssembly was a fifth of the plugin's work on a page of records.
//!
//! Numbers go through serde_json itself, and anything this writer does not write as serde_json
//! would (a map key that is not a string, serde_json's own raw values and arbitrary-precision
//! numbers) or that fails is encoded again by serde_json, whose output or error is then the
//! answer.

use serde::ser::{self, Impossible, Serialize};

use super::{is_serde_json_private, GiveUp, Result};
use crate::jsonscan::plain_end;

/// Appends `v` to `out` as compact JSON: what `serde_json::to_writer(out, v)` appends.
pub(crate) fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
    let start = out.len();
    if v.serialize(Writer { out: &mut *out }).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    serde_json::to_writer(out, v)
}

/// Writes `s` as a JSON string, escaped as serde_json escapes: `"`, `\` and control
/// characters, the latter as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx`.
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut i = 0;
    loop {
        let end = plain_end(b, i);
        out.extend_from_slice(&b[i..end]);
        let c = match b.get(end) {
            Some(&c) => c,
            None => break,
        };
        match c {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]),
        }
        i = end + 1;
    }
    out.push(b'"');
}

/// Writes a number as serde_json does.
fn write_number<T: Serialize>(out: &mut Vec<u8>, n: T) -> Result {
    serde_json::to_writer(out, &n).map_err(|_| GiveUp)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// A sequence, map or struct being written; `variant` when it is an enum variant's content,
/// inside `{"variant": ...}`.
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    variant: bool,
}

impl<'a> Compound<'a> {
    fn open(out: &'a mut Vec<u8>, variant: Option<&str>, open: u8) -> Compound<'a> {
        if let Some(v) = variant {
            out.push(b'{');
            write_str(out, v);
            out.push(b':');
        }
        out.push(open);
        Compound {
            out,
            first: true,
            variant: variant.is_some(),
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.comma();
        v.serialize(Writer { out: self.out })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
        v.serialize(Writer { out: self.out })
    }

    fn close(self, close: u8) -> Result {
        self.out.push(close);
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        write_number(self.out, v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        write_number(self.out, v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        write_number(self.out, v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        write_number(self.out, v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        write_number(self.out, v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        write_number(self.out, v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        write_number(self.out, v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        write_number(self.out, v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        write_number(self.out, v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        write_number(self.out, v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        write_number(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        write_number(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        let mut seq = Compound::open(self.out, None, b'[');
        for b in v {
            seq.element(b)?;
        }
        seq.close(b']')
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result {
        let mut c = Compound::open(self.out, None, b'{');
        c.field(variant, v)?;
        c.close(b'}')
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, None, b'['))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, None, b'['))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, None, b'['))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, Some(variant), b'['))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, None, b'{'))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>> {
        if is_serde_json_private(name) {
            return Err(GiveUp);
        }
        Ok(Compound::open(self.out, None, b'{'))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>> {
        Ok(Compound::open(self.out, Some(variant), b'{'))
    }
}

/// serde's four kinds of array, written alike.
macro_rules! array_impls {
    ($($kind:ident::$method:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = GiveUp;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
                self.element(v)
            }
            fn end(self) -> Result {
                self.close(b']')
            }
        }
    )*};
}

array_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(Key { out: self.out })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        v.serialize(Writer { out: self.out })
    }
    fn end(self) -> Result {
        self.close(b'}')
    }
}

/// A struct and a struct variant, written alike.
macro_rules! struct_impls {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = GiveUp;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result {
                self.field(key, v)
            }
            fn end(self) -> Result {
                self.close(b'}')
            }
        }
    )*};
}

struct_impls!(SerializeStruct, SerializeStructVariant);

/// Writes a map key: a string, or a unit variant's name, as they are. serde_json also quotes
/// integer and char keys and refuses the rest; those go through it.
struct Key<'a> {
    out: &'a mut Vec<u8>,
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Impossible<(), GiveUp>;
    type SerializeTuple = Impossible<(), GiveUp>;
    type SerializeTupleStruct = Impossible<(), GiveUp>;
    type SerializeTupleVariant = Impossible<(), GiveUp>;
    type SerializeMap = Impossible<(), GiveUp>;
    type SerializeStruct = Impossible<(), GiveUp>;
    type SerializeStructVariant = Impossible<(), GiveUp>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result {
        v.serialize(self)
    }

    fn serialize_bool(self, _: bool) -> Result {
        Err(GiveUp)
    }
    fn serialize_i8(self, _: i8) -> Result {
        Err(GiveUp)
    }
    fn serialize_i16(self, _: i16) -> Result {
        Err(GiveUp)
    }
    fn serialize_i32(self, _: i32) -> Result {
        Err(GiveUp)
    }
    fn serialize_i64(self, _: i64) -> Result {
        Err(GiveUp)
    }
    fn serialize_u8(self, _: u8) -> Result {
        Err(GiveUp)
    }
    fn serialize_u16(self, _: u16) -> Result {
        Err(GiveUp)
    }
    fn serialize_u32(self, _: u32) -> Result {
        Err(GiveUp)
    }
    fn serialize_u64(self, _: u64) -> Result {
        Err(GiveUp)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(GiveUp)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(GiveUp)
    }
    fn serialize_char(self, _: char) -> Result {
        Err(GiveUp)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(GiveUp)
    }
    fn serialize_none(self) -> Result {
        Err(GiveUp)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(GiveUp)
    }
    fn serialize_unit(self) -> Result {
        Err(GiveUp)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(GiveUp)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(GiveUp)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(GiveUp)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(GiveUp)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(GiveUp)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(GiveUp)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(GiveUp)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(GiveUp)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(GiveUp)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::{Serialize, Serializer};
    use serde_json::json;

    use super::{to_writer, Writer};

    /// Checks that `v` encodes as serde_json encodes it, or fails as it fails.
    fn same<T: Serialize + ?Sized>(what: &str, v: &T) {
        same_by(what, v, true)
    }

    /// Checks that `v` encodes as serde_json encodes it, or fails as it fails, and that the
    /// fast path wrote it (`fast`) or gave it to serde_json.
    fn same_by<T: Serialize + ?Sized>(what: &str, v: &T, fast: bool) {
        let mut out = Vec::new();
        let wrote = v.serialize(Writer { out: &mut out }).is_ok();
        assert_eq!(wrote, fast, "{}: written by the fast path", what);
        let (mut got, mut want) = (b"prefix".to_vec(), b"prefix".to_vec());
        let res = to_writer(&mut got, v).map_err(|e| e.to_string());
        let want_res = serde_json::to_writer(&mut want, v).map_err(|e| e.to_string());
        assert_eq!(res, want_res, "{}", what);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{}",
            what
        );
    }

    #[derive(Serialize)]
    struct Address {
        street: String,
        city: &'static str,
    }

    #[derive(Serialize)]
    struct Contact {
        id: String,
        #[serde(rename = "first-name")]
        first_name: String,
        tags: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        address: Address,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
        score: f64,
        count: u64,
        delta: i32,
        unit: (),
        pair: (u8, char),
    }

    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Plain {
        Unit,
        Newtype(String),
        Tuple(i8, bool),
        Struct { a: u16, b: Option<bool> },
    }

    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: String },
        B(BTreeMap<String, u8>),
    }

    #[derive(Serialize)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        A(String),
        B { y: Vec<u8> },
    }

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Untagged {
        S(String),
        N(i64),
    }

    #[derive(Serialize)]
    struct Newtype(String);

    #[derive(Serialize)]
    struct UnitStruct;

    struct Failing;

    impl Serialize for Failing {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("the value refuses"))
        }
    }

    /// Strings with every byte that needs escaping, at every offset of an eight-byte word.
    fn awkward_strings() -> Vec<String> {
        let mut out = vec![
            String::new(),
            "é ü 日本 🦀".to_string(),
            "\u{7f}/<>&'".to_string(),
        ];
        for c in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..17 {
                let mut s = "abcdefghijklmnopq".to_string();
                s.insert(at, c as char);
                out.push(s);
            }
        }
        out.push((0u8..0x80).map(|c| c as char).collect());
        out
    }

    #[test]
    fn writes_what_serde_json_writes() {
        for s in awkward_strings() {
            same(&format!("string {:?}", s), &s);
            let mut m = BTreeMap::new();
            m.insert(s.clone(), s.clone());
            same(&format!("key {:?}", s), &m);
        }
        let mut extra = BTreeMap::new();
        extra.insert("z".to_string(), json!({"n": [1, 2.5, null, true, "x\ny"]}));
        let c = Contact {
            id: "c-1".into(),
            first_name: "Ada \"the\" Countess".into(),
            tags: Some(vec!["a".into(), "b\tc".into()]),
            phone: None,
            address: Address {
                street: "12 Mill Lane".into(),
                city: "Lyon",
            },
            extra,
            score: 0.1,
            count: u64::MAX,
            delta: -7,
            unit: (),
            pair: (255, '\u{1}'),
        };
        same("contact", &c);
        same("contacts", &vec![&c, &c]);
        same("no contacts", &Vec::<Contact>::new());
        same(
            "variants",
            &vec![
                Plain::Unit,
                Plain::Newtype("n".into()),
                Plain::Tuple(-1, false),
                Plain::Struct { a: 7, b: None },
            ],
        );
        let mut b = BTreeMap::new();
        b.insert("k".to_string(), 1u8);
        same(
            "internally tagged",
            &vec![Tagged::A { x: "x".into() }, Tagged::B(b)],
        );
        same(
            "adjacently tagged",
            &vec![Adjacent::A("a".into()), Adjacent::B { y: vec![1, 2] }],
        );
        same("untagged", &vec![Untagged::S("s".into()), Untagged::N(-3)]);
        same("newtype struct", &Newtype("x".into()));
        same("unit struct", &UnitStruct);
        same("option", &(None::<u8>, Some("s")));
        same(
            "floats",
            &[
                0.0,
                -0.0,
                1e300,
                1.5e-7,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ],
        );
        same("f32", &[1.1f32, f32::NAN]);
        same(
            "wide ints",
            &(i128::MIN, u128::MAX, i64::MIN, i8::MIN, u16::MAX),
        );
        same("chars", &['"', '\\', '\n', 'é', '🦀']);
        same("bytes as a seq", &b"ab"[..]);
        let mut h = HashMap::new();
        h.insert("one".to_string(), vec![1]);
        same("hash map", &h);
        same(
            "json value",
            &json!({"a": {"b": [[], {}, "c\u{0}"]}, "": 1}),
        );
    }

    #[test]
    fn what_serde_json_writes_differently_goes_through_it() {
        let mut ints = BTreeMap::new();
        ints.insert(3u32, "three");
        ints.insert(10u32, "ten");
        same_by("integer keys", &ints, false);
        let mut chars = BTreeMap::new();
        chars.insert('k', 1);
        same_by("char keys", &chars, false);
        let mut bools = BTreeMap::new();
        bools.insert(true, 1);
        same_by("bool keys", &bools, false);
        let mut units = BTreeMap::new();
        units.insert(Plain::Unit, 1);
        same_by("unit variant keys", &units, true);
        same_by("a failing value", &Failing, false);
        same_by(
            "a failing value deep down",
            &(json!({"a": [1, 2]}), vec![Failing, Failing]),
            false,
        );
    }
}
