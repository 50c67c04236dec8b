//! NumPy `.npy` event files: Eligo's own format and tonic's structured arrays.
//!
//! Layout (NumPy format 1.0–3.0, numpy.org "NEP 1 — A simple file format for NumPy arrays"):
//!
//! | bytes | content |
//! |---|---|
//! | 0–5 | magic `\x93NUMPY` |
//! | 6, 7 | format version major, minor (1, 2 or 3) |
//! | 8–9 (v1) or 8–11 (v2, v3) | header length `H`, little-endian |
//! | next `H` bytes | a Python dict literal `{'descr': ..., 'fortran_order': False, 'shape': (N,), }`, padded with spaces and `\n` so the data starts at a multiple of 64 |
//! | then | `N` packed records of the structured dtype `descr` |
//!
//! The kind is chosen from the dtype's field names (any order):
//! - **Eligo**: `t` (`<u8`, µs), `addr` (`<u4`), optionally `p` (`|u1`). This is what Eligo writes
//!   (sorted by time, then address); `numpy.load(f)["t"]` gives the times.
//! - **tonic** (`tonic.io.make_structured_array`): `t, x, y, p` (vision, e.g. `x <i2, y <i2,
//!   t <i8, p |b1`) or `t, x, p` (audio, `<i8` each), `t` in µs.
//!
//! Any little- or big-endian integer or bool field type is accepted; negative values and values
//! that do not fit (x > 2^32 - 1, y > 65535, p > 255) are errors naming the event. The header is
//! limited to 64 KiB and the declared count is checked against the file length before any event
//! is read; nothing is allocated from it.
//!
//! The writer streams: it writes a header with room for a 20-digit count, the records, then seeks
//! back to write the real count, all under a temporary name renamed over the target at the end.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::bytes::ByteSource;
use super::{AeEvent, CHUNK, EventReader, Format, StreamInfo};
use crate::error::{Error, Result};

/// The `.npy` magic string.
pub const MAGIC: &[u8] = b"\x93NUMPY";
/// Largest header accepted.
const MAX_HEADER: usize = 1 << 16;
/// Deepest nesting of the header literal accepted.
const MAX_DEPTH: usize = 8;

/// Integer field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    size: usize,
    big_endian: bool,
}

impl FieldType {
    fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let (endian, rest) = match b.first()? {
            b'<' | b'|' | b'=' => (false, &s[1..]),
            b'>' => (true, &s[1..]),
            _ => (false, s),
        };
        // the type letter is one byte; a non-ASCII one is no type (and no char boundary)
        let (kind, size) = rest.split_at_checked(1)?;
        let size: usize = size.parse().ok()?;
        if ![1, 2, 4, 8].contains(&size) {
            return None;
        }
        let signed = match kind {
            "u" => false,
            "i" => true,
            "b" if size == 1 => false,
            "?" => false,
            _ => return None,
        };
        Some(FieldType {
            signed,
            size,
            big_endian: endian,
        })
    }

    /// The value at `rec[off..]` as a signed 128-bit integer.
    #[inline]
    fn get(self, rec: &[u8], off: usize) -> i128 {
        let mut b = [0u8; 8];
        let src = &rec[off..off + self.size];
        if self.big_endian {
            b[8 - self.size..].copy_from_slice(src);
            let v = u64::from_be_bytes(b);
            if self.signed {
                let shift = 64 - 8 * self.size as u32;
                i128::from(((v << shift) as i64) >> shift)
            } else {
                i128::from(v)
            }
        } else {
            b[..self.size].copy_from_slice(src);
            let v = u64::from_le_bytes(b);
            if self.signed {
                let shift = 64 - 8 * self.size as u32;
                i128::from(((v << shift) as i64) >> shift)
            } else {
                i128::from(v)
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: FieldType,
    /// The type as the header writes it (`<u8`), for `events info`.
    dtype: String,
    offset: usize,
}

/// A parsed `.npy` header.
#[derive(Debug, Clone)]
struct Header {
    fields: Vec<Field>,
    record: usize,
    count: u64,
    /// Bytes before the data.
    data_start: u64,
    descr: String,
}

/// A Python literal of the kinds a `.npy` header uses.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(u64),
    Bool(bool),
    Seq(Vec<Lit>),
    Dict(Vec<(String, Lit)>),
}

struct LitParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl LitParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Option<Lit> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let start = self.i;
                while *self.s.get(self.i)? != q {
                    self.i += 1;
                }
                let v = std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .to_string();
                self.i += 1;
                Some(Lit::Str(v))
            }
            open @ (b'[' | b'(') => {
                self.i += 1;
                let close = if open == b'[' { b']' } else { b')' };
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        return Some(Lit::Seq(items));
                    }
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') {
                        return self.eat(close).then_some(Lit::Seq(items));
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(b'}') {
                        return Some(Lit::Dict(items));
                    }
                    let Lit::Str(k) = self.value(depth + 1)? else {
                        return None;
                    };
                    if !self.eat(b':') {
                        return None;
                    }
                    items.push((k, self.value(depth + 1)?));
                    if !self.eat(b',') {
                        return self.eat(b'}').then_some(Lit::Dict(items));
                    }
                }
            }
            b'0'..=b'9' => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
                let v = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                // a trailing L (Python 2 longs) is accepted
                if self.s.get(self.i) == Some(&b'L') {
                    self.i += 1;
                }
                v.parse().ok().map(Lit::Int)
            }
            _ => {
                for (word, v) in [("True", true), ("False", false)] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Some(Lit::Bool(v));
                    }
                }
                None
            }
        }
    }
}

fn bad_header(src: &ByteSource, value: impl std::fmt::Display, allowed: &str) -> Error {
    Error::input(
        "npy header",
        value,
        allowed.to_string(),
        "write the file with numpy.save of a 1-D structured array",
    )
    .in_file(src.path())
}

/// The header: its preamble, then the dict literal's `fortran_order`, `shape` and `descr`, in
/// that order. Leaves `src` at the first record.
fn read_header(src: &mut ByteSource) -> Result<Header> {
    let (hlen, pre) = read_preamble(src)?;
    src.consume(pre);
    if !src.ensure(hlen)? {
        return Err(bad_header(
            src,
            format!("header length {hlen}"),
            "the file ends inside the header: it is truncated",
        ));
    }
    let text = &src.avail()[..hlen];
    let lit = LitParser { s: text, i: 0 }.value(0);
    let descr_text = String::from_utf8_lossy(text).trim_end().to_string();
    let Some(Lit::Dict(items)) = lit else {
        return Err(bad_header(
            src,
            format!("'{descr_text}'"),
            "the header must be a Python dict literal with descr, fortran_order and shape",
        ));
    };
    let get = |k: &str| items.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let count = header_count(src, get("fortran_order"), get("shape"))?;
    let Some(Lit::Seq(descr)) = get("descr") else {
        return Err(bad_header(
            src,
            format!("'{descr_text}'"),
            "a structured dtype: descr must be a list of (name, type) fields, e.g. \
             [('t', '<u8'), ('addr', '<u4')]",
        ));
    };
    let (fields, record) = header_fields(src, descr)?;
    src.consume(hlen);
    Ok(Header {
        fields,
        record,
        count,
        data_start: (pre + hlen) as u64,
        descr: descr_text,
    })
}

/// The magic and version; returns the header length and the bytes before the header.
fn read_preamble(src: &mut ByteSource) -> Result<(usize, usize)> {
    src.ensure(12)?;
    let a = src.avail();
    if a.len() < 10 || !a.starts_with(MAGIC) {
        return Err(bad_header(
            src,
            format!("first bytes {:02x?}", &a[..a.len().min(8)]),
            "a .npy file starts with \\x93NUMPY and a version",
        ));
    }
    let major = a[6];
    let (hlen, pre) = match major {
        1 => (usize::from(u16::from_le_bytes([a[8], a[9]])), 10),
        2 | 3 if a.len() >= 12 => (u32::from_le_bytes([a[8], a[9], a[10], a[11]]) as usize, 12),
        _ => {
            return Err(bad_header(
                src,
                format!("version {}.{}", a[6], a[7]),
                "supported .npy versions: 1.0, 2.0, 3.0",
            ));
        }
    };
    if hlen > MAX_HEADER {
        return Err(bad_header(
            src,
            format!("header length {hlen}"),
            "the header must be at most 65536 bytes",
        ));
    }
    Ok((hlen, pre))
}

/// The event count `N` of `shape = (N,)`, after checking `fortran_order`.
fn header_count(src: &ByteSource, fortran_order: Option<&Lit>, shape: Option<&Lit>) -> Result<u64> {
    // Fortran order only changes the layout of arrays with two or more dimensions: a 1-D array
    // is the same bytes in either order, so its flag is honoured by ignoring it; any other shape
    // is refused below, saying that it is a transposed (Fortran-order) array when it is one
    let fortran = match fortran_order {
        Some(Lit::Bool(b)) => *b,
        None => false,
        Some(other) => {
            return Err(bad_header(
                src,
                format!("fortran_order {other:?}"),
                "fortran_order must be True or False",
            ));
        }
    };
    match shape {
        Some(Lit::Seq(s)) if s.len() == 1 => match s[0] {
            Lit::Int(n) => Ok(n),
            _ => Err(bad_header(src, "shape", "shape must be (N,)")),
        },
        other => {
            let what = if fortran {
                "a 1-D array of events: shape (N,); this one is stored in Fortran order \
                 (fortran_order True: a transposed array, e.g. W.T, saved by NumPy), whose \
                 columns would be read as rows"
            } else {
                "a 1-D array of events: shape (N,)"
            };
            Err(bad_header(src, format!("shape {other:?}"), what))
        }
    }
}

/// The record's fields from `descr` (at least one), each at its byte offset; returns them and
/// the record size.
fn header_fields(src: &ByteSource, descr: &[Lit]) -> Result<(Vec<Field>, usize)> {
    let mut fields = Vec::new();
    let mut offset = 0usize;
    for f in descr {
        let (name, ty) = match f {
            Lit::Seq(v) if v.len() == 2 => match (&v[0], &v[1]) {
                (Lit::Str(n), Lit::Str(t)) => (n.clone(), t.clone()),
                _ => {
                    return Err(bad_header(
                        src,
                        format!("{f:?}"),
                        "a field is ('name', 'type')",
                    ));
                }
            },
            _ => {
                return Err(bad_header(
                    src,
                    format!("{f:?}"),
                    "a field is ('name', 'type'), without a sub-array shape",
                ));
            }
        };
        let Some(parsed) = FieldType::parse(&ty) else {
            return Err(bad_header(
                src,
                format!("field '{name}' of type '{ty}'"),
                "event fields must be integers or bools (e.g. <u8, <i8, <u4, <i2, |u1, |b1)",
            ));
        };
        fields.push(Field {
            name,
            ty: parsed,
            dtype: ty,
            offset,
        });
        offset += parsed.size;
    }
    if fields.is_empty() {
        return Err(bad_header(
            src,
            "descr []",
            "at least the fields t and addr",
        ));
    }
    Ok((fields, offset))
}

fn kind_of(h: &Header, src: &ByteSource) -> Result<Format> {
    let mut names: Vec<&str> = h.fields.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    Ok(match names.as_slice() {
        ["addr", "t"] | ["addr", "p", "t"] => Format::EligoNpy,
        ["p", "t", "x", "y"] | ["p", "t", "x"] => Format::TonicNpy,
        _ => {
            return Err(Error::input(
                "npy dtype fields",
                names.join(", "),
                "Eligo events have fields t, addr (and optionally p); tonic events have t, x, y, p \
                 or t, x, p",
                "rename the fields, or convert with numpy (rfn.rename_fields)",
            )
            .in_file(src.path()));
        }
    })
}

/// Read just the header of `path` and say whether it is Eligo's or tonic's layout.
pub fn detect_kind(path: &Path) -> Result<Format> {
    let mut src = ByteSource::open(path)?;
    let h = read_header(&mut src)?;
    kind_of(&h, &src)
}

/// Streaming reader of Eligo and tonic `.npy` files.
pub struct Reader {
    src: ByteSource,
    info: StreamInfo,
    h: Header,
    /// (t, x, y, p) field indices into `h.fields`.
    cols: [Option<usize>; 4],
    /// `t <u8 @0, addr <u4 @8`, 12-byte records: decoded without per-field dispatch.
    fast: bool,
    /// tonic's vision dtype `x <i2 @0, y <i2 @2, t <i8 @4, p |b1 @12` (13 bytes): decoded
    /// directly, falling back to the generic path only to name a bad value.
    tonic_xytp: bool,
    next: u64,
}

impl Reader {
    /// Parse the header and check the declared count against the file length.
    pub fn new(mut src: ByteSource) -> Result<Self> {
        let h = read_header(&mut src)?;
        let format = kind_of(&h, &src)?;
        let col = |n: &str| h.fields.iter().position(|f| f.name == n);
        let cols = [
            col("t"),
            col(if format == Format::EligoNpy {
                "addr"
            } else {
                "x"
            }),
            col("y"),
            col("p"),
        ];
        let le = |i: usize, size: usize, off: usize| {
            let f = &h.fields[i];
            !f.ty.big_endian && !f.ty.signed && f.ty.size == size && f.offset == off
        };
        let fast = h.record == 12
            && cols[0].is_some_and(|i| le(i, 8, 0))
            && cols[1].is_some_and(|i| le(i, 4, 8));
        let field = |i: Option<usize>, signed: bool, size: usize, off: usize| {
            i.is_some_and(|i| {
                let f = &h.fields[i];
                !f.ty.big_endian && f.ty.signed == signed && f.ty.size == size && f.offset == off
            })
        };
        let tonic_xytp = h.record == 13
            && field(cols[1], true, 2, 0)
            && field(cols[2], true, 2, 2)
            && field(cols[0], true, 8, 4)
            && field(cols[3], false, 1, 12);
        let need = u128::from(h.count) * h.record as u128;
        if let Some(len) = src.len() {
            let have = u128::from(len.saturating_sub(h.data_start));
            if have < need {
                return Err(Error::input(
                    "npy shape",
                    format!("({},)", h.count),
                    format!(
                        "the header declares {} events ({need} bytes) but the file holds {have} \
                         bytes of data ({} whole events): it is truncated",
                        h.count,
                        have / h.record.max(1) as u128
                    ),
                    "re-copy or re-write the file",
                )
                .in_file(src.path()));
            }
        }
        let mut info = StreamInfo::new(format, cols[2].is_some(), cols[3].is_some());
        info.declared = Some(h.count);
        info.fields = h
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.dtype.clone()))
            .collect();
        info.notes.push(("header".into(), h.descr.clone()));
        Ok(Reader {
            src,
            info,
            h,
            cols,
            fast,
            tonic_xytp,
            next: 0,
        })
    }

    fn value_error(&self, i: u64, field: &str, v: i128, allowed: &str) -> Error {
        Error::input(
            format!("event {i}.{field}"),
            v,
            allowed.to_string(),
            "check how the file was written",
        )
        .in_file(self.src.path())
    }

    fn decode_generic(&self, recs: &[u8], first: u64, out: &mut Vec<AeEvent>) -> Result<()> {
        let r = self.h.record;
        let f = |c: Option<usize>| c.map(|i| (self.h.fields[i].ty, self.h.fields[i].offset));
        let [ft, fx, fy, fp] = self.cols.map(f);
        let (ft, fx) = (ft.expect("t exists"), fx.expect("x exists"));
        for (k, rec) in recs.chunks_exact(r).enumerate() {
            let i = first + k as u64;
            let t = ft.0.get(rec, ft.1);
            let x = fx.0.get(rec, fx.1);
            let y = fy.map_or(0, |(ty, o)| ty.get(rec, o));
            let p = fp.map_or(0, |(ty, o)| ty.get(rec, o));
            if t < 0 {
                return Err(self.value_error(i, "t", t, "times must be >= 0 µs"));
            }
            let xname = if self.info.format == Format::EligoNpy {
                "addr"
            } else {
                "x"
            };
            let x = u32::try_from(x)
                .map_err(|_| self.value_error(i, xname, x, "must be between 0 and 2^32 - 1"))?;
            let y =
                u16::try_from(y).map_err(|_| self.value_error(i, "y", y, "must be 0..=65535"))?;
            let p = u8::try_from(p).map_err(|_| {
                self.value_error(i, "p", p, "polarity must be 0 or 1 (at most 255)")
            })?;
            out.push(AeEvent {
                t: t as u64,
                x,
                y,
                p,
            });
        }
        Ok(())
    }
}

impl EventReader for Reader {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn next_chunk(&mut self, out: &mut Vec<AeEvent>) -> Result<bool> {
        out.clear();
        let r = self.h.record;
        let left = self.h.count - self.next;
        if left == 0 {
            if !self.src.at_end()? {
                let extra = self.src.avail().len();
                return Err(self.src.error_here(
                    "after the last event",
                    format!("{extra}+ extra bytes"),
                    format!("the header declares {} events", self.h.count),
                    "the shape in the header is wrong or the file has trailing garbage",
                ));
            }
            return Ok(false);
        }
        if !self.src.ensure(r)? {
            return Err(if self.src.avail().is_empty() {
                Error::input(
                    "npy shape",
                    format!("({},)", self.h.count),
                    format!(
                        "the header declares {} events but the file ends after {}",
                        self.h.count, self.next
                    ),
                    "the file is truncated",
                )
                .in_file(self.src.path())
            } else {
                self.src.truncated("event", self.next, r)
            });
        }
        let n = (self.src.avail().len() / r).min(CHUNK).min(left as usize);
        let recs = &self.src.avail()[..n * r];
        if self.fast {
            out.extend(recs.chunks_exact(12).map(|rec| {
                let (t, a) = rec.split_at(8);
                AeEvent {
                    t: u64::from_le_bytes(t.try_into().expect("8 bytes")),
                    x: u32::from_le_bytes(a.try_into().expect("4 bytes")),
                    y: 0,
                    p: 0,
                }
            }));
        } else if self.tonic_xytp {
            let mut bad = false;
            out.extend(recs.chunks_exact(13).map(|r| {
                let x = i16::from_le_bytes([r[0], r[1]]);
                let y = i16::from_le_bytes([r[2], r[3]]);
                let t = i64::from_le_bytes(r[4..12].try_into().expect("8 bytes"));
                bad |= (x | y) < 0 || t < 0;
                AeEvent {
                    t: t as u64,
                    x: x as u32,
                    y: y as u16,
                    p: r[12],
                }
            }));
            if bad {
                out.clear();
                self.decode_generic(recs, self.next, out)?;
            }
        } else {
            self.decode_generic(recs, self.next, out)?;
        }
        self.src.consume(n * r);
        self.next += n as u64;
        Ok(true)
    }
}

/// The header of an Eligo event file with `count` events, padded to `len` bytes (or its natural
/// length rounded up to 64 when `len` is 0).
fn header_bytes(count: u64, with_p: bool, len: usize) -> Vec<u8> {
    let p = if with_p { ", ('p', '|u1')" } else { "" };
    let dict = format!(
        "{{'descr': [('t', '<u8'), ('addr', '<u4'){p}], 'fortran_order': False, 'shape': ({count},), }}"
    );
    let natural = (10 + dict.len() + 1).div_ceil(64) * 64;
    let total = if len == 0 { natural } else { len };
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Streaming writer of Eligo's `.npy` (fields `t <u8`, `addr <u4`, optional `p |u1`).
///
/// Events go to `.NAME.tmp` beside the target; [`Writer::finish`] writes the real count into
/// the header and renames. Dropping an unfinished writer removes the temporary file.
pub struct Writer {
    w: Option<BufWriter<File>>,
    path: PathBuf,
    tmp: PathBuf,
    n: u64,
    with_p: bool,
    header_len: usize,
    buf: Vec<u8>,
}

impl Writer {
    /// Start writing `path`; `with_p` adds the polarity field.
    pub fn create(path: &Path, with_p: bool) -> Result<Self> {
        let tmp = crate::io::tmp_name(path);
        let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        // room for any u64 count
        let header = header_bytes(u64::MAX, with_p, 0);
        w.write_all(&header).map_err(|e| Error::io(&tmp, e))?;
        Ok(Writer {
            w: Some(w),
            path: path.to_path_buf(),
            tmp,
            n: 0,
            with_p,
            header_len: header.len(),
            buf: Vec::new(),
        })
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        self.w.as_mut().expect("writer used after finish")
    }

    /// Append one event.
    pub fn push(&mut self, t: u64, addr: u32, p: u8) -> Result<()> {
        let mut rec = [0u8; 13];
        rec[..8].copy_from_slice(&t.to_le_bytes());
        rec[8..12].copy_from_slice(&addr.to_le_bytes());
        rec[12] = p;
        let len = if self.with_p { 13 } else { 12 };
        let tmp = self.tmp.clone();
        self.writer()
            .write_all(&rec[..len])
            .map_err(|e| Error::io(tmp, e))?;
        self.n += 1;
        Ok(())
    }

    /// Append events (`x` is the address).
    pub fn write(&mut self, events: &[AeEvent]) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for e in events {
            buf.extend_from_slice(&e.t.to_le_bytes());
            buf.extend_from_slice(&e.x.to_le_bytes());
            if self.with_p {
                buf.push(e.p);
            }
        }
        let tmp = self.tmp.clone();
        let r = self.writer().write_all(&buf).map_err(|e| Error::io(tmp, e));
        self.buf = buf;
        self.n += events.len() as u64;
        r
    }

    /// Write the final header, flush, sync and rename. Returns the number of events.
    pub fn finish(self) -> Result<u64> {
        let (staged, n) = self.seal()?;
        staged.commit()?;
        Ok(n)
    }

    /// Write the final header, flush and sync, leaving the file under its temporary name for
    /// [`crate::io::commit_all`] to rename with the rest of its set; also returns the number
    /// of events. On error nothing is left.
    pub fn seal(mut self) -> Result<(crate::io::Staged, u64)> {
        let mut w = self.w.take().expect("finish once");
        // from here the staged file owns the temporary name: dropping it removes the file
        let staged = crate::io::Staged::new(&self.path);
        let header = header_bytes(self.n, self.with_p, self.header_len);
        let r = (|| {
            w.flush()?;
            let mut f = w.into_inner().map_err(|e| e.into_error())?;
            f.seek(SeekFrom::Start(0))?;
            f.write_all(&header)?;
            f.sync_all()
        })();
        r.map_err(|e| Error::io(&self.path, e))?;
        Ok((staged, self.n))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `events` to `path` (Eligo format; `x` is the address) atomically.
pub fn write(path: &Path, events: &[AeEvent], with_p: bool) -> Result<u64> {
    let mut w = Writer::create(path, with_p)?;
    w.write(events)?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::events::{ReadOptions, read_all};

    fn read_bytes(b: Vec<u8>) -> Result<Vec<AeEvent>> {
        let mut r = Reader::new(ByteSource::from_bytes(b, "mem.npy"))?;
        let mut all = vec![];
        let mut c = vec![];
        while r.next_chunk(&mut c)? {
            all.extend_from_slice(&c);
        }
        Ok(all)
    }

    #[test]
    fn header_is_aligned_and_fixed_up() {
        let h = header_bytes(u64::MAX, true, 0);
        assert_eq!(h.len() % 64, 0);
        let h2 = header_bytes(5, true, h.len());
        assert_eq!(h2.len(), h.len());
        assert!(String::from_utf8_lossy(&h2).contains("'shape': (5,)"));
    }

    #[test]
    fn round_trip_with_and_without_p() {
        let dir = tempfile::tempdir().unwrap();
        for with_p in [false, true] {
            let p = dir.path().join(format!("e{with_p}.npy"));
            let ev: Vec<AeEvent> = (0..200_000u64)
                .map(|i| AeEvent::xyp(i * 3, (i % 977) as u32, 0, (i % 2) as u8 * u8::from(with_p)))
                .collect();
            assert_eq!(write(&p, &ev, with_p).unwrap(), ev.len() as u64);
            assert_eq!(read_all(&p, &ReadOptions::default()).unwrap(), ev);
            assert!(!crate::io::tmp_name(&p).exists());
        }
    }

    /// Bytes written by hand, independently of the writer: a tonic vision array
    /// `[('x','<i2'),('y','<i2'),('t','<i8'),('p','|b1')]`.
    #[test]
    fn tonic_dtype_any_order() {
        let dict = "{'descr': [('x', '<i2'), ('y', '<i2'), ('t', '<i8'), ('p', '|b1')], \
                    'fortran_order': False, 'shape': (2,), }";
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b.push(b'\n');
        for (x, y, t, p) in [(3i16, 4i16, 10i64, 1u8), (33, 0, 12, 0)] {
            b.extend_from_slice(&x.to_le_bytes());
            b.extend_from_slice(&y.to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
            b.push(p);
        }
        let ev = read_bytes(b.clone()).unwrap();
        assert_eq!(
            ev,
            vec![AeEvent::xyp(10, 3, 4, 1), AeEvent::xyp(12, 33, 0, 0)]
        );
        // a negative x is refused with the event index
        let n = b.len();
        b[n - 13..n - 11].copy_from_slice(&(-1i16).to_le_bytes());
        let e = read_bytes(b).unwrap_err().to_string();
        assert!(e.contains("event 1.x") && e.contains("-1"), "{e}");
    }

    fn npy_bytes(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b.push(b'\n');
        b.extend_from_slice(data);
        b
    }

    /// `fortran_order: True` on a 1-D structured array (NumPy writes it for no 1-D array, but the
    /// bytes are the same in either order): read; on a 2-D array (a transposed `W.T`): refused,
    /// saying so.
    #[test]
    fn fortran_order_one_d_is_read_and_two_d_is_refused() {
        let mut data = vec![];
        for (t, a) in [(5u64, 2u32), (9, 7)] {
            data.extend_from_slice(&t.to_le_bytes());
            data.extend_from_slice(&a.to_le_bytes());
        }
        let dict = "{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': True, \
                    'shape': (2,), }";
        let ev = read_bytes(npy_bytes(dict, &data)).unwrap();
        assert_eq!(ev, vec![AeEvent::addr(5, 2), AeEvent::addr(9, 7)]);
        let dict = "{'descr': [('t', '<u8'), ('addr', '<u4')], 'fortran_order': True, \
                    'shape': (1, 2), }";
        let e = read_bytes(npy_bytes(dict, &data)).unwrap_err().to_string();
        assert!(
            e.contains("shape") && e.contains("Fortran order") && e.contains("(N,)"),
            "{e}"
        );
    }

    #[test]
    fn header_claiming_more_than_file_holds() {
        let mut b = header_bytes(1000, false, 0);
        b.extend_from_slice(&[0u8; 24]);
        let e = read_bytes(b).unwrap_err().to_string();
        assert!(
            e.contains("declares 1000 events") && e.contains("2 whole events"),
            "{e}"
        );
    }

    #[test]
    fn big_endian_fields() {
        let ty = FieldType::parse(">i4").unwrap();
        assert_eq!(ty.get(&(-5i32).to_be_bytes(), 0), -5);
        let ty = FieldType::parse("<i2").unwrap();
        assert_eq!(ty.get(&(-300i16).to_le_bytes(), 0), -300);
        assert_eq!(FieldType::parse("<f8"), None);
    }

    /// Found by the `events_npy` fuzz target: a field type whose letter is not ASCII (`'Ȋ2'`,
    /// two bytes) panicked slicing inside the character instead of being refused.
    #[test]
    fn non_ascii_field_type_is_refused() {
        for ty in ["Ȋ2", "<Ȋ2", ">č8", "Ɩ"] {
            assert_eq!(FieldType::parse(ty), None, "{ty}");
            let dict = format!(
                "{{'descr': [('t', '<u8'), ('addr', '{ty}')], 'fortran_order': False, \
                 'shape': (0,), }}"
            );
            match read_bytes(npy_bytes(&dict, &[])) {
                Err(Error::Input(e)) => assert!(e.to_string().contains("addr"), "{e}"),
                other => panic!("{ty}: {other:?}"),
            }
        }
    }
}
