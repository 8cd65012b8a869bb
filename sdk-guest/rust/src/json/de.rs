//! Decoding: as `serde_json::from_slice`, to the same values. serde_json copies a string's
//! bytes one at a time after looking each up in its escape table, then checks the whole string
//! is UTF-8; inside WebAssembly that was a third of a plugin's work on a page of records. Here
//! a string's end is found eight bytes at a time, in the same pass that tells whether it is all
//! ASCII (and so needs no UTF-8 check), and one without escapes is handed to the visitor as a
//! slice of the input, as serde_json hands it.
//!
//! The decoder accepts less than serde_json, never more: only JSON (RFC 8259) whose strings are
//! UTF-8 (those of a value passed over may hold any bytes, as serde_json lets them), nested at
//! most as deep as serde_json allows. Numbers are read by serde_json itself,
//! from the number's own bytes, except the plain non-negative integers a typed field asks for,
//! which serde_json too reads as a u64; so are serde_json's raw values, and bytes. Anything it
//! gives up on, and any failure (bad JSON, a value of the wrong type, trailing characters),
//! sends the whole input to serde_json, whose value or error is the answer.

use serde::de::{self, Deserialize, DeserializeSeed, Visitor};

use super::{is_serde_json_private, GiveUp, Result};
use crate::jsonscan::{literal_end, number_end, plain_run, string_end};

/// Decodes `b` as `serde_json::from_slice(b)` does.
pub(crate) fn from_slice<'de, T: Deserialize<'de>>(b: &'de [u8]) -> serde_json::Result<T> {
    let mut d = Decoder {
        b,
        i: 0,
        depth: MAX_DEPTH,
        scratch: Vec::new(),
    };
    if let Ok(v) = T::deserialize(&mut d) {
        if d.peek().is_err() {
            return Ok(v); // nothing but whitespace after the value
        }
    }
    serde_json::from_slice(b)
}

/// How many arrays and objects may be open at once: serde_json fails from 128 on.
const MAX_DEPTH: u32 = 127;

struct Decoder<'de> {
    b: &'de [u8],
    i: usize,
    /// How many more arrays and objects may be opened.
    depth: u32,
    /// A string with escapes, unescaped.
    scratch: Vec<u8>,
}

impl<'de> Decoder<'de> {
    /// Skips whitespace and returns the next byte, which stays unread; fails at the end.
    fn peek(&mut self) -> Result<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Ok(c);
            }
            self.i += 1;
        }
        Err(GiveUp)
    }

    fn literal(&mut self, lit: &[u8]) -> Result {
        self.i = literal_end(self.b, self.i, lit).ok_or(GiveUp)?;
        Ok(())
    }

    /// Reads the number at the next byte and returns its bytes.
    fn number(&mut self) -> Result<&'de [u8]> {
        if !matches!(self.peek()?, b'-' | b'0'..=b'9') {
            return Err(GiveUp);
        }
        let start = self.i;
        self.i = number_end(self.b, start).ok_or(GiveUp)?;
        Ok(&self.b[start..self.i])
    }

    /// Reads the string whose opening quote is the next byte.
    fn string<V: Visitor<'de>>(&mut self, v: V) -> Result<V::Value> {
        let b = self.b;
        let start = self.i + 1;
        let (end, ascii) = plain_run(b, start);
        match b.get(end) {
            Some(b'"') => {
                self.i = end + 1;
                v.visit_borrowed_str(utf8(&b[start..end], ascii)?)
            }
            Some(b'\\') => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&b[start..end]);
                // what escapes stand for is UTF-8 as appended: only the runs need checking
                let mut all_ascii = ascii;
                let mut i = end;
                loop {
                    // b[i] is a backslash
                    i = unescape(b, i + 1, &mut self.scratch).ok_or(GiveUp)?;
                    let (end, ascii) = plain_run(b, i);
                    all_ascii &= ascii;
                    self.scratch.extend_from_slice(&b[i..end]);
                    match b.get(end) {
                        Some(b'"') => break self.i = end + 1,
                        Some(b'\\') => i = end,
                        _ => return Err(GiveUp),
                    }
                }
                v.visit_str(utf8(&self.scratch, all_ascii)?)
            }
            _ => Err(GiveUp), // unterminated, or a control character
        }
    }

    /// Moves to the next element or member of the array or object being read, past the comma
    /// before it (none before the first, which `first` says is next): false at `close`, its
    /// closing bracket, which stays unread.
    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool> {
        match self.peek()? {
            c if c == close => return Ok(false),
            b',' if !*first => {
                self.i += 1;
                if self.peek()? == close {
                    return Err(GiveUp); // a trailing comma
                }
            }
            _ if *first => *first = false,
            _ => return Err(GiveUp),
        }
        Ok(true)
    }

    /// Opens the array or object whose bracket is the next byte.
    fn enter(&mut self) -> Result {
        if self.depth == 0 {
            return Err(GiveUp);
        }
        self.depth -= 1;
        self.i += 1;
        Ok(())
    }

    /// Closes an array or object with `close`, after its elements or members.
    fn leave(&mut self, close: u8) -> Result {
        self.depth += 1;
        if self.peek()? != close {
            return Err(GiveUp); // more elements than the visitor took, or bad JSON
        }
        self.i += 1;
        Ok(())
    }

    fn seq<V: Visitor<'de>>(&mut self, v: V) -> Result<V::Value> {
        self.enter()?;
        let value = v.visit_seq(Elements {
            d: &mut *self,
            first: true,
        })?;
        self.leave(b']')?;
        Ok(value)
    }

    fn map<V: Visitor<'de>>(&mut self, v: V) -> Result<V::Value> {
        self.enter()?;
        let value = v.visit_map(Members {
            d: &mut *self,
            first: true,
        })?;
        self.leave(b'}')?;
        Ok(value)
    }

    /// Passes over the next value, accepting what serde_json's `IgnoredAny` accepts: any depth,
    /// and strings that are not UTF-8.
    fn skip(&mut self) -> Result {
        let mut open: Vec<u8> = Vec::new(); // the closing brackets awaited, innermost last
        loop {
            match self.peek()? {
                c @ (b'{' | b'[') => {
                    self.i += 1;
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek()? != close {
                        open.push(close);
                        if close == b'}' {
                            self.skip_key()?;
                        }
                        continue;
                    }
                    self.i += 1;
                }
                b'"' => self.i = string_end(self.b, self.i + 1).ok_or(GiveUp)?,
                b'n' => self.literal(b"null")?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                _ => {
                    self.number()?;
                }
            }
            // After a value: close what ends here, up to the next element or member.
            loop {
                let close = match open.last() {
                    Some(&c) => c,
                    None => return Ok(()),
                };
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if close == b'}' {
                            self.skip_key()?;
                        }
                        break;
                    }
                    c if c == close => {
                        self.i += 1;
                        open.pop();
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
    }

    /// Passes over a member's key and its colon.
    fn skip_key(&mut self) -> Result {
        if self.peek()? != b'"' {
            return Err(GiveUp);
        }
        self.i = string_end(self.b, self.i + 1).ok_or(GiveUp)?;
        self.colon()
    }

    fn colon(&mut self) -> Result {
        if self.peek()? != b':' {
            return Err(GiveUp);
        }
        self.i += 1;
        Ok(())
    }
}

/// Returns `b` as a str, checked unless `known` says it is UTF-8 already: ASCII bytes, with
/// perhaps what escapes stood for, written as UTF-8 by `unescape`. (The check was a seventh of
/// decoding a page of records in wazero.)
fn utf8(b: &[u8], known: bool) -> Result<&str> {
    if known {
        debug_assert!(std::str::from_utf8(b).is_ok());
        // SAFETY: ASCII bytes, and chars encoded by char::encode_utf8, are UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(b) });
    }
    std::str::from_utf8(b).map_err(|_| GiveUp)
}

/// Appends what the escape sequence after a backslash, at `b[i]`, stands for, as serde_json
/// reads it (a UTF-16 surrogate only as the first of a pair), and returns the index past it.
fn unescape(b: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let c = match *b.get(i)? {
        c @ (b'"' | b'\\' | b'/') => c,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let (cp, next) = match hex4(b, i + 1)? {
                hi @ 0xD800..=0xDBFF => {
                    if b.get(i + 5..i + 7)? != b"\\u" {
                        return None;
                    }
                    let lo = hex4(b, i + 7)?;
                    if !(0xDC00..=0xDFFF).contains(&lo) {
                        return None;
                    }
                    (0x10000 + ((hi - 0xD800) << 10 | (lo - 0xDC00)), i + 11)
                }
                0xDC00..=0xDFFF => return None,
                cp => (cp, i + 5),
            };
            out.extend_from_slice(char::from_u32(cp)?.encode_utf8(&mut [0; 4]).as_bytes());
            return Some(next);
        }
        _ => return None,
    };
    out.push(c);
    Some(i + 1)
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)?
        .iter()
        .try_fold(0, |n, &c| Some(n * 16 + (c as char).to_digit(16)?))
}

/// The value of a plain non-negative integer that fits a u64, which serde_json reads as one
/// (and `None` for any other number: negative, fractional, with an exponent or too long).
fn plain_u64(n: &[u8]) -> Option<u64> {
    // number_end took the number, so a leading zero stands alone: 19 digits always fit
    if n.len() > 19 || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(n.iter().fold(0, |v, &d| v * 10 + u64::from(d - b'0')))
}

/// Has serde_json decode the number `n` (its bytes alone) with `f`; the whole of `n`, as it
/// would have to in its place in the document.
fn by_serde_json<'de, T>(
    n: &'de [u8],
    f: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
    ) -> serde_json::Result<T>,
) -> Result<T> {
    let mut d = serde_json::Deserializer::from_slice(n);
    let v = f(&mut d).map_err(|_| GiveUp)?;
    d.end().map_err(|_| GiveUp)?;
    Ok(v)
}

/// The typed number methods: plain integers as serde_json reads them, other numbers by
/// serde_json.
macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
            let n = self.number()?;
            match plain_u64(n) {
                Some(u) => v.visit_u64(u),
                None => by_serde_json(n, |d| d.$method(v)),
            }
        }
    )*};
}

/// Methods whose values are left to serde_json.
macro_rules! give_up {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
            Err(GiveUp)
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for &'a mut Decoder<'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.peek()? {
            b'n' => {
                self.literal(b"null")?;
                v.visit_unit()
            }
            b't' => {
                self.literal(b"true")?;
                v.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                v.visit_bool(false)
            }
            b'"' => self.string(v),
            b'[' => self.seq(v),
            b'{' => self.map(v),
            // serde_json's arbitrary-precision numbers, when a crate turns them on, visit
            // differently here: it has the only say
            _ => by_serde_json(self.number()?, |d| d.deserialize_any(v)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.peek()? {
            b't' => {
                self.literal(b"true")?;
                v.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                v.visit_bool(false)
            }
            _ => Err(GiveUp),
        }
    }

    numbers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64);

    fn deserialize_i128<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        by_serde_json(self.number()?, |d| d.deserialize_i128(v))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        by_serde_json(self.number()?, |d| d.deserialize_u128(v))
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? != b'"' {
            return Err(GiveUp);
        }
        self.string(v)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_str(v)
    }

    // serde_json hands a string's raw bytes, unchecked, or an array's numbers
    give_up!(deserialize_bytes deserialize_byte_buf);

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return v.visit_none();
        }
        v.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? != b'n' {
            return Err(GiveUp);
        }
        self.literal(b"null")?;
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value> {
        if is_serde_json_private(name) {
            return Err(GiveUp); // a raw value
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? != b'[' {
            return Err(GiveUp);
        }
        self.seq(v)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        if self.peek()? != b'{' {
            return Err(GiveUp);
        }
        self.map(v)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        if is_serde_json_private(name) {
            return Err(GiveUp);
        }
        // serde_json reads a struct from an array of its fields too
        match self.peek()? {
            b'{' => self.map(v),
            b'[' => self.seq(v),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        match self.peek()? {
            b'"' => v.visit_enum(UnitVariant { d: self }),
            b'{' => {
                self.enter()?;
                let value = v.visit_enum(Variant { d: &mut *self })?;
                self.leave(b'}')?;
                Ok(value)
            }
            _ => Err(GiveUp),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.skip()?;
        v.visit_unit()
    }
}

/// An array's elements.
struct Elements<'a, 'de> {
    d: &'a mut Decoder<'de>,
    first: bool,
}

impl<'de, 'a> de::SeqAccess<'de> for Elements<'a, 'de> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.d.next_item(&mut self.first, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.d).map(Some)
    }
}

/// An object's members.
struct Members<'a, 'de> {
    d: &'a mut Decoder<'de>,
    first: bool,
}

impl<'de, 'a> de::MapAccess<'de> for Members<'a, 'de> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.d.next_item(&mut self.first, b'}')? {
            return Ok(None);
        }
        if self.d.b[self.d.i] != b'"' {
            return Err(GiveUp); // a key that is not a string
        }
        seed.deserialize(Key { d: &mut *self.d }).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.d.colon()?;
        seed.deserialize(&mut *self.d)
    }
}

/// A member's key, whose opening quote is the next byte: a string, as serde_json gives it to
/// the types it may become, except integers, which serde_json reads from inside the quotes.
struct Key<'a, 'de> {
    d: &'a mut Decoder<'de>,
}

impl<'de, 'a> de::Deserializer<'de> for Key<'a, 'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.d.string(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value> {
        if is_serde_json_private(name) {
            return Err(GiveUp);
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_enum(self.d, name, variants, v)
    }

    give_up!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_bytes deserialize_byte_buf);

    serde::forward_to_deserialize_any! {
        bool f32 f64 char str string unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

/// An enum given as `{"variant": content}`.
struct Variant<'a, 'de> {
    d: &'a mut Decoder<'de>,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a, 'de> {
    type Error = GiveUp;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let variant = seed.deserialize(&mut *self.d)?;
        self.d.colon()?;
        Ok((variant, self))
    }
}

impl<'de, 'a> de::VariantAccess<'de> for Variant<'a, 'de> {
    type Error = GiveUp;

    fn unit_variant(self) -> Result {
        Deserialize::deserialize(self.d)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self.d)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self.d, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self.d, "", fields, v)
    }
}

/// An enum given as `"variant"`, which only a unit variant can be.
struct UnitVariant<'a, 'de> {
    d: &'a mut Decoder<'de>,
}

impl<'de, 'a> de::EnumAccess<'de> for UnitVariant<'a, 'de> {
    type Error = GiveUp;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        Ok((seed.deserialize(&mut *self.d)?, self))
    }
}

impl<'de, 'a> de::VariantAccess<'de> for UnitVariant<'a, 'de> {
    type Error = GiveUp;

    fn unit_variant(self) -> Result {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value> {
        Err(GiveUp)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value> {
        Err(GiveUp)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::{BTreeMap, HashMap};
    use std::fmt::Debug;

    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use serde::Deserializer;
    use serde_json::Value;

    use super::{from_slice, Decoder, MAX_DEPTH};

    /// Checks that `b` decodes as a `T` to what serde_json decodes it to, or fails with
    /// serde_json's error, and that the fast path decoded it by itself (`fast`) or left it
    /// to serde_json.
    fn same<'de, T>(what: &str, b: &'de [u8], fast: bool)
    where
        T: Deserialize<'de> + PartialEq + Debug,
    {
        let mut d = Decoder {
            b,
            i: 0,
            depth: MAX_DEPTH,
            scratch: Vec::new(),
        };
        let by_itself = T::deserialize(&mut d).is_ok() && d.peek().is_err();
        let show = String::from_utf8_lossy(b);
        assert_eq!(
            by_itself, fast,
            "{} {}: decoded by the fast path",
            what, show
        );
        let got = from_slice::<T>(b).map_err(|e| e.to_string());
        let want = serde_json::from_slice::<T>(b).map_err(|e| e.to_string());
        assert_eq!(got, want, "{} {}", what, show);
    }

    /// `same` for a document that serde_json decodes as a `T`, and the fast path too.
    fn fast<'de, T: Deserialize<'de> + PartialEq + Debug>(what: &str, b: &'de [u8]) {
        assert!(
            serde_json::from_slice::<T>(b).is_ok(),
            "{}: a bad case",
            what
        );
        same::<T>(what, b, true)
    }

    /// `same` for a document the fast path decodes by itself exactly when serde_json decodes
    /// it: JSON that is valid (and UTF-8 where a string is kept), for types read the usual way.
    fn agree<'de, T: Deserialize<'de> + PartialEq + Debug>(what: &str, b: &'de [u8]) {
        same::<T>(what, b, serde_json::from_slice::<T>(b).is_ok())
    }

    /// `same` for a document the fast path leaves to serde_json.
    fn slow<'de, T: Deserialize<'de> + PartialEq + Debug>(what: &str, b: &'de [u8]) {
        same::<T>(what, b, false)
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Address {
        street: String,
        #[serde(default)]
        city: String,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Contact {
        id: String,
        #[serde(rename = "first-name", default)]
        first_name: String,
        tags: Option<Vec<String>>,
        #[serde(default)]
        address: Option<Address>,
        score: f64,
        count: u64,
        delta: i32,
        unit: (),
        pair: (u8, char),
        kind: Plain,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Flattened {
        id: String,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
    }

    /// `IgnoredAny`, comparable.
    #[derive(Debug, PartialEq)]
    struct Ignored;

    impl<'de> Deserialize<'de> for Ignored {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ignored, D::Error> {
            IgnoredAny::deserialize(d).map(|_| Ignored)
        }
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
    enum Plain {
        Unit,
        Newtype(String),
        Tuple(i8, bool),
        Struct { a: u16, b: Option<bool> },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: String },
        B(BTreeMap<String, u8>),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        A(String),
        B { y: Vec<u8> },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        N(i64),
        F(f64),
        S(String),
        L(Vec<Untagged>),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Newtype(String);

    #[derive(Debug, PartialEq, Deserialize)]
    struct UnitStruct;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Borrowed<'a> {
        s: &'a str,
        #[serde(borrow)]
        c: Cow<'a, str>,
    }

    const CONTACT: &str = r#" { "id": "c-1", "first-name": "Ada \"the\" Countess",
        "tags": ["a", "b\tc", "\u00e9\ud83e\udd80"], "address": {"street": "12 Mill Lane"},
        "ignored": {"deep": [1, -2.5e3, null, true, false, "x", {"y": []}, {}]},
        "score": 0.1, "count": 18446744073709551615, "delta": -7, "unit": null,
        "pair": [255, "\u0001"], "kind": {"Struct": {"a": 7, "b": null}} } "#;

    #[test]
    fn decodes_what_serde_json_decodes() {
        fast::<Contact>("contact", CONTACT.as_bytes());
        let two = format!("[{},\n{}]", CONTACT, CONTACT.replace("c-1", "c-2"));
        fast::<Vec<Contact>>("contacts", two.as_bytes());
        fast::<Vec<Contact>>("no contacts", b" [ ] ");
        fast::<Value>("contact as a value", CONTACT.as_bytes());
        fast::<Flattened>("flattened", CONTACT.as_bytes());
        fast::<Contact>(
            "a struct as an array",
            br#"["c", "", null, null, 1, 2, 3, null, [4, "x"], "Unit"]"#,
        );
        fast::<Vec<Plain>>(
            "variants",
            br#"["Unit", {"Unit": null}, {"Newtype": "n"}, {"Tuple": [-1, false]},
                {"Struct": {"b": true, "a": 65535}}]"#,
        );
        fast::<Vec<Tagged>>(
            "internally tagged",
            br#"[{"type": "A", "x": "x"}, {"k": 1, "type": "B"}]"#,
        );
        fast::<Vec<Adjacent>>(
            "adjacently tagged",
            br#"[{"t": "A", "c": "a"}, {"c": {"y": [1, 2]}, "t": "B"}]"#,
        );
        fast::<Vec<Untagged>>(
            "untagged",
            br#"[-3, 18446744073709551615, 1.5, "s", [2, ["t"]]]"#,
        );
        fast::<Newtype>("newtype struct", br#""x""#);
        fast::<UnitStruct>("unit struct", b"null");
        fast::<(Option<u8>, Option<String>, ())>("options", br#"[null, "s", null]"#);
        fast::<Borrowed>("borrowed", br#"{"s": "plain", "c": "cow"}"#);
        fast::<Borrowed>("borrowed, escaped cow", br#"{"s": "plain", "c": "c\now"}"#);
        fast::<Vec<char>>("chars", r#"["\"", "\\", "\n", "é", "🦀"]"#.as_bytes());
        fast::<Vec<u8>>("bytes as a seq", b"[1, 2, 255]");
        fast::<HashMap<String, Vec<u8>>>("hash map", br#"{"one": [1], "": []}"#);
        fast::<BTreeMap<Plain, bool>>("enum keys", br#"{"Unit": true}"#);
        fast::<(bool, bool, Ignored)>("ignored", br#"[true, false, {"a": [1, {"b": "\ud800"}]}]"#);
        fast::<Value>("white space", b" \t\r\n{ \"a\" :\t[ 1 , { } ]\n}\r\n ");
    }

    #[test]
    fn leaves_to_serde_json_what_it_reads_its_own_way() {
        slow::<BTreeMap<u32, u8>>("integer keys", br#"{"1": 2, "30": 4}"#);
        slow::<BTreeMap<u32, u8>>("a bad integer key", br#"{"x": 2}"#);
        slow::<Borrowed>(
            "a borrowed str with an escape",
            br#"{"s": "a\"b", "c": ""}"#,
        );
        slow::<serde_bytes_like::Bytes>("bytes", br#""ab""#);
        slow::<Value>("a string that is not UTF-8", b"\"\xff\"");
        fast::<Ignored>(
            "a string that is not UTF-8, ignored",
            b"[\"\xff\", \"\\ud800\"]",
        );
        slow::<u8>("a number too large for the type", b"256");
        slow::<String>("a number for a string", b"1");
        slow::<Contact>("a missing field", br#"{"id": "c"}"#);
        slow::<Plain>("a unit variant with content", br#"{"Unit": 1}"#);
        slow::<Plain>("a newtype variant without content", br#""Newtype""#);
        slow::<(u8,)>("more elements than a tuple", b"[1, 2]");
    }

    /// Stands for the types that read bytes (serde_bytes), which serde_json reads from a
    /// string's raw bytes.
    mod serde_bytes_like {
        use serde::de::{Deserialize, Deserializer, Error, Visitor};
        use std::fmt;

        #[derive(Debug, PartialEq)]
        pub struct Bytes(pub Vec<u8>);

        impl<'de> Deserialize<'de> for Bytes {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E: Error>(self, b: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(b.to_vec()))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
    }

    #[test]
    fn strings() {
        let mut cases: Vec<Vec<u8>> = vec![
            br#""""#.to_vec(),
            "\"é ü 日本 🦀\"".as_bytes().to_vec(),
            br#""\/\b\f\n\r\t\"\\""#.to_vec(),
            br#""\u0041\u00e9\u65e5\ud83e\udd80\uFFFF\u0000""#.to_vec(),
        ];
        // every escape, and every byte that cannot stand in a string, at every offset of an
        // eight-byte word, and a multi-byte character across words
        for esc in [
            &b"\\n"[..],
            b"\\\"",
            b"\\\\",
            b"\\u00e9",
            b"\\ud83e\\udd80",
            b"\x01",
            b"\x1f",
            b"\"",
            "é".as_bytes(),
            "🦀".as_bytes(),
        ] {
            for at in 0..17 {
                let mut s = b"\"abcdefghijklmnopq\"".to_vec();
                s.splice(1 + at..1 + at, esc.iter().copied());
                cases.push(s);
            }
        }
        let bad: &[&[u8]] = &[
            b"\"abc",
            b"\"abc\\",
            b"\"\\x\"",
            b"\"\\u12g4\"",
            b"\"\\u12\"",
            b"\"\\ud83e\"",
            b"\"\\ud83e\\u0041\"",
            b"\"\\ud83ex\"",
            b"\"\\udd80\"",
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\"a\x7fb\"",
        ];
        cases.extend(bad.iter().map(|b| b.to_vec()));
        for s in &cases {
            agree::<String>("string", s);
            agree::<Value>("value", s);
            agree::<Cow<str>>("cow", s);
            agree::<Ignored>("ignored", s);
            let mut key = b"{".to_vec();
            key.extend_from_slice(s);
            key.extend_from_slice(b": 1}");
            agree::<BTreeMap<String, u8>>("key", &key);
        }
    }

    #[test]
    fn numbers() {
        let lexemes = [
            "0",
            "1",
            "-0",
            "-1",
            "255",
            "256",
            "9223372036854775807",
            "-9223372036854775808",
            "-9223372036854775809",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "1.5",
            "-0.0",
            "1e3",
            "1E+3",
            "-1.5e-3",
            "0.1",
            "2.2250738585072011e-308",
            "1e400",
            "-1e400",
            "1e-400",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "0x1",
        ];
        for n in lexemes {
            for doc in [
                n.to_string(),
                format!("[{}]", n),
                format!(" [ {} , 0 ] ", n),
            ] {
                let b = doc.as_bytes();
                macro_rules! each {
                    ($($t:ty)*) => {$(
                        agree::<$t>(stringify!($t), b);
                    )*};
                }
                if doc.starts_with('[') {
                    each!(Vec<u8> Vec<i8> Vec<u64> Vec<i64> Vec<f32> Vec<f64> Vec<Value>
                        Vec<Untagged> Vec<i128> Vec<u128>);
                } else {
                    each!(u8 i8 u64 i64 f32 f64 Value Untagged Ignored i128 u128);
                }
            }
        }
    }

    #[test]
    fn nesting_as_deep_as_serde_json_allows() {
        for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2] {
            let depth = depth as usize;
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(
                serde_json::from_slice::<Value>(arrays.as_bytes()).is_ok(),
                depth <= 127,
                "serde_json's limit"
            );
            agree::<Value>("arrays", arrays.as_bytes());
            let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
            agree::<Value>("objects", objects.as_bytes());
            let member = format!(r#"{{"id": "x", "deep": {}}}"#, arrays);
            agree::<Flattened>("flattened", member.as_bytes());
            // serde_json passes over values of any depth
            fast::<Ignored>("ignored", arrays.as_bytes());
            fast::<Address>(
                "ignored member",
                format!(r#"{{"street": "x", "deep": {}}}"#, arrays).as_bytes(),
            );
        }
    }

    #[test]
    fn bad_json() {
        let docs: &[&[u8]] = &[
            b"",
            b"   ",
            b"[1,]",
            br#"{"a": 1,}"#,
            b"[1 2]",
            br#"{"a" 1}"#,
            br#"{"a": 1 "b": 2}"#,
            b"{1: 2}",
            b"{,}",
            b"[,]",
            b"nul",
            b"tru",
            b"falsy",
            b"[",
            b"]",
            b"{",
            br#"{"a": 1}x"#,
            br#"{"a": 1} {}"#,
            b"[1]]",
            b"\x00",
            b"[\"a\"\x0b]",
        ];
        for b in docs {
            same::<Value>("value", b, false);
            same::<Ignored>("ignored", b, false);
            same::<BTreeMap<String, u8>>("map", b, false);
            same::<Vec<u8>>("seq", b, false);
        }
    }

    /// Every one-byte change of a contact, at every offset, to a byte that JSON gives a
    /// meaning, decodes as serde_json decodes it.
    #[test]
    fn mutations() {
        let doc = CONTACT.as_bytes();
        let bytes = b"\"\\{}[],:0-.eE+ntfu\x01\xc3\xff ";
        for i in 0..doc.len() {
            for &c in bytes {
                let mut b = doc.to_vec();
                b[i] = c;
                agree::<Value>("value", &b);
                agree::<Contact>("contact", &b);
                b.remove(i);
                agree::<Value>("value with a byte removed", &b);
            }
        }
    }
}
