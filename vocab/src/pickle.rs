//! Just enough of Python's pickle format to read the published CIFAR "python version" batches,
//! the ImageNet16 pickles and HW-NAS-Bench's release: dictionaries, lists, numbers, strings,
//! numpy scalars and numpy arrays (which pickle as a call to `_reconstruct` plus a state tuple
//! holding shape, dtype and the raw bytes). Nothing is executed: globals are kept as names and
//! only numpy's recipes for arrays and scalars are understood.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Reduce(Box<Value>, Box<Value>),
    Build(Box<Value>, Box<Value>),
    Mark,
}

impl Value {
    /// Dictionary lookup by a str or bytes key (the CIFAR batches use bytes keys, which
    /// protocol 2 writes from Python 3 as `_codecs.encode(text, 'latin1')`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find_map(|(k, v)| match k {
                Value::Str(s) if s == key => Some(v),
                other if bytes_of(other).as_deref() == Some(key.as_bytes()) => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    pub fn as_int_list(&self) -> Option<Vec<i64>> {
        match self {
            Value::List(v) | Value::Tuple(v) => {
                v.iter().map(|x| if let Value::Int(i) = x { Some(*i) } else { None }).collect()
            }
            _ => None,
        }
    }
}

/// A numpy array read from a pickle.
#[derive(Debug)]
pub struct Array {
    pub shape: Vec<i64>,
    pub dtype: String,
    pub data: Vec<u8>,
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b.clone()),
        // Python 2 byte strings unpickled in Python 3 as latin-1 text, or re-encoded through
        // `_codecs.encode(text, 'latin1')`.
        Value::Str(s) => s.chars().map(|c| u8::try_from(c as u32).ok()).collect(),
        Value::Reduce(f, args) => match (&**f, &**args) {
            (Value::Global(m, n), Value::Tuple(a)) if m == "_codecs" && n == "encode" => {
                a.first().and_then(bytes_of)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Interprets a value as a numpy ndarray, if it is one.
pub fn as_array(v: &Value) -> Result<Array> {
    let Value::Build(obj, state) = v else {
        bail!("expected a numpy array, found {}", describe(v))
    };
    let Value::Reduce(f, _) = &**obj else {
        bail!("expected a numpy array, found {}", describe(v))
    };
    match &**f {
        Value::Global(m, n) if m.starts_with("numpy") && n == "_reconstruct" => {}
        other => bail!("expected a numpy array, found a call to {}", describe(other)),
    }
    let Value::Tuple(st) = &**state else { bail!("numpy array state is not a tuple") };
    if st.len() < 5 {
        bail!("numpy array state has {} fields, expected 5", st.len());
    }
    let shape = st[1]
        .as_int_list()
        .ok_or_else(|| anyhow!("numpy array shape is not a tuple of integers"))?;
    let dtype = dtype_code(&st[2])?;
    if st[3] == Value::Bool(true) {
        bail!("Fortran-ordered numpy arrays are not supported");
    }
    let data = bytes_of(&st[4]).ok_or_else(|| anyhow!("numpy array data is not raw bytes"))?;
    Ok(Array { shape, dtype, data })
}

/// A numpy dtype's type code (`u1`, `f8`, ...), from the pickled `numpy.dtype(code, ...)` call.
fn dtype_code(v: &Value) -> Result<String> {
    // The memo keeps an object as it was when stored, before BUILD set its state: a dtype used
    // again (a second array, every scalar) is the bare call.
    let call = match v {
        Value::Build(d, _) => &**d,
        other => other,
    };
    Ok(match call {
        Value::Reduce(_, args) => match &**args {
            Value::Tuple(a) => match a.first() {
                Some(Value::Str(s)) => s.clone(),
                Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => bail!("numpy dtype has no type code"),
            },
            _ => bail!("numpy dtype arguments are not a tuple"),
        },
        other => bail!("numpy dtype is {}", describe(other)),
    })
}

/// A number: a Python int or float, or a numpy scalar (`numpy.float64` and the like pickle as
/// `numpy.core.multiarray.scalar(dtype, raw bytes)`), which releases built with numpy hold.
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        Value::Reduce(f, args) => {
            let (Value::Global(m, n), Value::Tuple(a)) = (&**f, &**args) else { return None };
            if !m.starts_with("numpy") || n != "scalar" || a.len() != 2 {
                return None;
            }
            let code = dtype_code(&a[0]).ok()?;
            let raw = bytes_of(&a[1])?;
            match code.trim_start_matches(['<', '=']) {
                "f8" => Some(f64::from_le_bytes(raw.as_slice().try_into().ok()?)),
                "f4" => Some(f32::from_le_bytes(raw.as_slice().try_into().ok()?) as f64),
                "i8" => Some(i64::from_le_bytes(raw.as_slice().try_into().ok()?) as f64),
                "i4" => Some(i32::from_le_bytes(raw.as_slice().try_into().ok()?) as f64),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn describe(v: &Value) -> String {
    match v {
        Value::Global(m, n) => format!("{m}.{n}"),
        Value::Dict(_) => "a dict".into(),
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Int(_) => "an integer".into(),
        Value::Bytes(_) | Value::Str(_) => "a string".into(),
        Value::Reduce(f, _) => format!("a call to {}", describe(f)),
        Value::Build(o, _) => format!("an object built from {}", describe(o)),
        other => format!("{other:?}"),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| anyhow!("truncated at byte {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.buf[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| anyhow!("unterminated line at byte {}", self.pos))?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| anyhow!("non-UTF-8 text at byte {}", self.pos))?;
        self.pos += n + 1;
        Ok(s)
    }
}

fn pop_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>> {
    let m = stack
        .iter()
        .rposition(|v| *v == Value::Mark)
        .ok_or_else(|| anyhow!("no MARK on the stack"))?;
    let items = stack.split_off(m + 1);
    stack.pop();
    Ok(items)
}

/// Parses one pickle.
pub fn parse(buf: &[u8]) -> Result<Value> {
    let mut r = Reader { buf, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<u64, Value> = HashMap::new();
    let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| anyhow!("stack underflow"));
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            0x80 => {
                r.u8()?;
            } // PROTO
            0x95 => {
                r.u64()?;
            } // FRAME
            b'(' => stack.push(Value::Mark),
            b'.' => return pop(&mut stack),
            b'}' => stack.push(Value::Dict(vec![])),
            b']' => stack.push(Value::List(vec![])),
            b')' => stack.push(Value::Tuple(vec![])),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'J' => {
                stack.push(Value::Int(i32::from_le_bytes(r.take(4)?.try_into().unwrap()) as i64))
            }
            b'K' => stack.push(Value::Int(r.u8()? as i64)),
            b'M' => {
                stack.push(Value::Int(u16::from_le_bytes(r.take(2)?.try_into().unwrap()) as i64))
            }
            0x8a => {
                let n = r.u8()? as usize;
                let b = r.take(n)?;
                if n > 8 {
                    bail!("integer of {n} bytes at byte {at}");
                }
                let mut v: i64 = 0;
                for (i, &x) in b.iter().enumerate() {
                    v |= (x as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(v));
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(r.take(8)?.try_into().unwrap()))),
            b'I' | b'L' => {
                let s = r.line()?.trim_end_matches('L');
                stack.push(match s {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    _ => Value::Int(
                        s.parse().map_err(|_| anyhow!("bad integer '{s}' at byte {at}"))?,
                    ),
                });
            }
            b'F' => {
                let s = r.line()?;
                stack.push(Value::Float(
                    s.parse().map_err(|_| anyhow!("bad float '{s}' at byte {at}"))?,
                ));
            }
            b'T' => {
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'U' => {
                let n = r.u8()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'C' => {
                let n = r.u8()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            0x8e => {
                let n = r.u64()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => r.u32()? as usize,
                    0x8c => r.u8()? as usize,
                    _ => r.u64()? as usize,
                };
                let s = std::str::from_utf8(r.take(n)?)
                    .map_err(|_| anyhow!("bad UTF-8 string at byte {at}"))?;
                stack.push(Value::Str(s.to_string()));
            }
            b'S' => {
                let s = r.line()?;
                let inner = s.trim_matches(|c| c == '\'' || c == '"');
                stack.push(Value::Bytes(inner.as_bytes().to_vec()));
            }
            b'V' => stack.push(Value::Str(r.line()?.to_string())),
            b'q' | b'r' | b'p' | 0x94 => {
                let key = match op {
                    b'q' => r.u8()? as u64,
                    b'r' => r.u32()? as u64,
                    b'p' => r.line()?.parse().map_err(|_| anyhow!("bad memo key at byte {at}"))?,
                    _ => memo.len() as u64,
                };
                let top = stack
                    .last()
                    .ok_or_else(|| anyhow!("memo of an empty stack at byte {at}"))?
                    .clone();
                memo.insert(key, top);
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => r.u8()? as u64,
                    b'j' => r.u32()? as u64,
                    _ => r.line()?.parse().map_err(|_| anyhow!("bad memo key at byte {at}"))?,
                };
                stack.push(
                    memo.get(&key)
                        .cloned()
                        .ok_or_else(|| anyhow!("unknown memo {key} at byte {at}"))?,
                );
            }
            b'c' => {
                let m = r.line()?.to_string();
                let n = r.line()?.to_string();
                stack.push(Value::Global(m, n));
            }
            0x93 => {
                let n = pop(&mut stack)?;
                let m = pop(&mut stack)?;
                match (m, n) {
                    (Value::Str(m), Value::Str(n)) => stack.push(Value::Global(m, n)),
                    _ => bail!("STACK_GLOBAL of non-strings at byte {at}"),
                }
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let f = pop(&mut stack)?;
                stack.push(Value::Reduce(Box::new(f), Box::new(args)));
            }
            b'b' => {
                let state = pop(&mut stack)?;
                let obj = pop(&mut stack)?;
                stack.push(Value::Build(Box::new(obj), Box::new(state)));
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    bail!("stack underflow at byte {at}");
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b'l' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::List(items));
            }
            b'a' => {
                let v = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(l)) => l.push(v),
                    _ => bail!("APPEND to a non-list at byte {at}"),
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(l)) => l.extend(items),
                    _ => bail!("APPENDS to a non-list at byte {at}"),
                }
            }
            b'd' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Dict(pairs(items, at)?));
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => d.push((k, v)),
                    _ => bail!("SETITEM on a non-dict at byte {at}"),
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack)?;
                let p = pairs(items, at)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => d.extend(p),
                    _ => bail!("SETITEMS on a non-dict at byte {at}"),
                }
            }
            other => bail!("unsupported pickle opcode 0x{other:02x} at byte {at}"),
        }
    }
}

fn pairs(items: Vec<Value>, at: usize) -> Result<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        bail!("odd number of dict items at byte {at}");
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// `pickle.dumps([np.float64(1.5), np.float32(0.25)], protocol=p)` for p = 2 and 4, as
    /// Python 3.12 with numpy 2 writes it.
    #[test]
    fn numpy_scalars_are_numbers() {
        let p2 = "80025d710028636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7101636e756d70790a64747970650a71025802000000663871038988877104527105284b0358010000003c71064e4e4e4affffffff4affffffff4b0074710762635f636f646563730a656e636f64650a71085809000000000000000000c3b83f710958060000006c6174696e31710a86710b52710c86710d52710e6801680258020000006634710f8988877110527111284b0368064e4e4e4affffffff4affffffff4b0074711262680858050000000000c2803e7113680a867114527115867116527117652e";
        let p4 = "8004959f000000000000005d94288c166e756d70792e5f636f72652e6d756c74696172726179948c067363616c61729493948c056e756d7079948c0564747970659493948c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624308000000000000f83f9486945294680368068c02663494898887945294284b03680a4e4e4e4affffffff4affffffff4b0074946243040000803e9486945294652e";
        for (name, bytes) in [("protocol 2", p2), ("protocol 4", p4)] {
            let Value::List(items) = parse(&hex(bytes)).unwrap() else { panic!("{name}: a list") };
            let got: Vec<Option<f64>> = items.iter().map(as_number).collect();
            assert_eq!(got, [Some(1.5), Some(0.25)], "{name}: {items:?}");
        }
        // `[np.array([1.0]), np.float64(1.5)]`: the scalar's dtype is the array's, from the memo.
        let shared = "80025d710028636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7101636e756d70790a6e6461727261790a71024b00857103635f636f646563730a656e636f64650a7104580100000062710558060000006c6174696e31710686710752710887710952710a284b014b0185710b636e756d70790a64747970650a710c58020000006638710d898887710e52710f284b0358010000003c71104e4e4e4affffffff4affffffff4b00747111628968045809000000000000000000c3b03f7112680686711352711474711562636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7116680f68045809000000000000000000c3b83f7117680686711852711986711a52711b652e";
        let Value::List(items) = parse(&hex(shared)).unwrap() else { panic!("a list") };
        assert_eq!(as_array(&items[0]).unwrap().dtype, "f8");
        assert_eq!(as_number(&items[1]), Some(1.5));
    }
}
