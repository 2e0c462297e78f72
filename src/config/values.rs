//! Values written as text in the configuration: byte sizes (`64k`, `1m`)
//! and key chords (`C-a`), with their serde forms.
//!
//! Owns parsing and printing these values only; it must not know which
//! setting uses them or what range a setting allows.

use serde::{Deserialize, Deserializer, Serialize};

/// A byte count written `64k`, `1m`, `2g` (binary units) or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let trimmed = text.trim();
        // `k`, `m`, `g` alone mean KiB, MiB, GiB, as in Docker and tmux.
        let normalised = match trimmed.chars().last() {
            Some(c) if "kKmMgGtT".contains(c) => format!("{trimmed}iB"),
            _ => trimmed.to_string(),
        };
        normalised
            .parse::<bytesize::ByteSize>()
            .map(|size| ByteSize(size.as_u64()))
            .map_err(|_| format!("`{text}` is not a size (write 64k, 1m or 2g)"))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// A key chord written as in tmux: `C-\`, `C-a`, `C-]`. Only control chords
/// make sense as a prefix, since the prefix byte is taken from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyChord {
    pub byte: u8,
}

impl KeyChord {
    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let err = || format!("`{text}` is not a control key chord (write C-\\ or C-a)");
        let rest = text
            .strip_prefix("C-")
            .or_else(|| text.strip_prefix("^"))
            .ok_or_else(err)?;
        let mut chars = rest.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(err());
        };
        let upper = c.to_ascii_uppercase();
        if !('@'..='_').contains(&upper) {
            return Err(err());
        }
        Ok(KeyChord {
            byte: (upper as u8) & 0x1f,
        })
    }

    /// The chord written back as in tmux.
    pub fn name(&self) -> String {
        let c = (self.byte | 0x40) as char;
        format!("C-{}", c.to_ascii_lowercase())
    }
}

impl Serialize for KeyChord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for KeyChord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyChord::parse(&text).map_err(serde::de::Error::custom)
    }
}
