//! Unknown keys, every one of them: the file's tables are walked against
//! the keys their serde structs read (taken from serde itself, so there is
//! no second list to keep in step), each unknown key is reported with its
//! table path and the nearest known key, and removed so that the file can
//! still be read and checked further.

use std::ops::Range;

use serde::de::{self, DeserializeOwned, Visitor};
use toml::de::{DeTable, DeValue};

use super::file::{
    ActionFile, ClientFile, DirectorFile, ExpectFile, NetworkFile, RealServerFile, ScenarioFile,
};
use super::names;
use super::recorded::RecordedPeerFile;

/// The keys of one table of the scenario file, and the tables under some
/// of them.
#[derive(Clone, Copy)]
pub struct Shape {
    /// Every key the table may hold (serde's field names).
    pub keys: &'static [&'static str],
    /// For a key holding a table or an array of tables, their shape.
    pub nested: fn(&str) -> Option<Shape>,
}

impl Shape {
    /// The shape of the table `T` is read from.
    pub fn of<T: Table>() -> Shape {
        Shape {
            keys: fields::<T>(),
            nested: T::nested,
        }
    }
}

/// A struct read from a table of the scenario file.
pub trait Table: DeserializeOwned {
    /// The shape of the table (or of each table of the array) under `key`,
    /// for keys that hold tables read into structs.
    fn nested(_key: &str) -> Option<Shape> {
        None
    }
}

impl Table for ScenarioFile {
    fn nested(key: &str) -> Option<Shape> {
        Some(match key {
            "network" => Shape::of::<NetworkFile>(),
            "director" => Shape::of::<DirectorFile>(),
            "real_server" => Shape::of::<RealServerFile>(),
            "client" => Shape::of::<ClientFile>(),
            "timeline" => Shape::of::<ActionFile>(),
            "expect" => Shape::of::<ExpectFile>(),
            "recorded_peer" => Shape::of::<RecordedPeerFile>(),
            _ => return None,
        })
    }
}
impl Table for NetworkFile {}
impl Table for DirectorFile {}
impl Table for RealServerFile {}
impl Table for ClientFile {}
impl Table for ActionFile {}
impl Table for ExpectFile {}
impl Table for RecordedPeerFile {}

/// An unknown key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// The key's byte range in the file.
    pub span: Range<usize>,
    /// Its table path (`timeline[2].tagret`).
    pub path: String,
    /// What is wrong, with the nearest known key.
    pub message: String,
}

/// Removes every key of `table` (and of the tables under it) that `shape`
/// does not know, and returns them in file order.
pub fn strip_unknown(table: &mut DeTable<'_>, shape: Shape) -> Vec<Unknown> {
    let mut out = Vec::new();
    walk(table, shape, "", &mut out);
    out.sort_by_key(|u| u.span.start);
    out
}

fn walk(table: &mut DeTable<'_>, shape: Shape, prefix: &str, out: &mut Vec<Unknown>) {
    let path = |k: &str| format!("{prefix}{k}");
    let unknown: Vec<(String, Range<usize>)> = table
        .keys()
        .filter(|k| !shape.keys.contains(&k.get_ref().as_ref()))
        .map(|k| (k.get_ref().to_string(), k.span()))
        .collect();
    for (k, span) in unknown {
        table.remove(k.as_str());
        out.push(Unknown {
            span,
            path: path(&k),
            message: names::unknown("key", &k, shape.keys.iter().copied()),
        });
    }
    for (k, v) in table.iter_mut() {
        let Some(inner) = (shape.nested)(k.get_ref()) else {
            continue;
        };
        match v.get_mut() {
            DeValue::Table(t) => walk(t, inner, &format!("{}.", path(k.get_ref())), out),
            DeValue::Array(a) => {
                for (i, item) in a.iter_mut().enumerate() {
                    if let DeValue::Table(t) = item.get_mut() {
                        walk(t, inner, &format!("{}[{i}].", path(k.get_ref())), out);
                    }
                }
            }
            // A value of the wrong type: serde names it.
            _ => {}
        }
    }
}

/// The field names serde's derived `Deserialize` of `T` reads: what it
/// passes to `deserialize_struct`, caught by a deserializer that reads
/// nothing else.
pub fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut out: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut out));
    out
}

struct Fields<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("only the field names are read")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Stop {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for Fields<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_serdes_own() {
        assert_eq!(fields::<DirectorFile>(), ["name", "address", "config"]);
        assert_eq!(fields::<NetworkFile>(), ["latency", "jitter", "loss"]);
        assert!(fields::<ScenarioFile>().contains(&"recorded_peer"));
        assert!(fields::<ActionFile>().contains(&"target"));
    }

    /// Every key said to hold tables is a key of its table, so a renamed
    /// field cannot leave its tables unchecked.
    #[test]
    fn nested_keys_are_known_keys() {
        let top = Shape::of::<ScenarioFile>();
        let mut nested = 0;
        for k in top.keys {
            if let Some(inner) = (top.nested)(k) {
                nested += 1;
                assert!(!inner.keys.is_empty(), "{k}");
                for j in inner.keys {
                    assert!((inner.nested)(j).is_none(), "{k}.{j}");
                }
            }
        }
        assert_eq!(nested, 7, "network and the six arrays of tables");
    }

    #[test]
    fn unknown_keys_in_file_order_with_paths() {
        let text = "duration = \"1s\"\nspeed = 2\n[network]\nlatncy = \"1ms\"\n\
                    [[timeline]]\nat = \"1s\"\naction = \"crash\"\ntagret = \"lb1\"\n";
        let mut t = DeTable::parse(text).unwrap().into_inner();
        let u = strip_unknown(&mut t, Shape::of::<ScenarioFile>());
        let paths: Vec<&str> = u.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["speed", "network.latncy", "timeline[0].tagret"]);
        assert_eq!(
            u[2].message,
            "unknown key \"tagret\"; did you mean \"target\"?"
        );
        assert_eq!(&text[u[1].span.clone()], "latncy");
        assert!(!t.contains_key("speed"), "removed");
    }
}
