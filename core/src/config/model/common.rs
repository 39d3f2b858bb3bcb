//! Small value types shared by several blocks: address family, script
//! commands, script users.

use std::fmt;

/// An IP address family: the one type for it, shared with the packet
/// layer.
pub use crate::packet::Family;

/// A command line to run (a notify script, a vrrp_script, a MISC_CHECK
/// path), already split into program and arguments the way keepalived
/// splits it (single and double quotes group, backslash escapes), with
/// the user it runs as when one was given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Command {
    /// Program then arguments; never empty in a built config.
    pub args: Vec<String>,
    /// The user (and group) to run as; `global_defs`' `script_user` (or
    /// keepalived_script, or root) when absent.
    pub user: Option<ScriptUser>,
}

impl Command {
    /// A command from its already-split words, run as the default user.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(args: I) -> Command {
        Command {
            args: args.into_iter().map(Into::into).collect(),
            user: None,
        }
    }

    /// The program (first word), if any.
    pub fn program(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }

    /// The command as one keepalived.conf value (without the user):
    /// a single plain word stays bare; anything else is written in double
    /// quotes holding single-quoted words where needed, which keepalived's
    /// two-level splitting reads back as the same words.
    pub fn to_conf_value(&self) -> String {
        let inner: Vec<String> = self.args.iter().map(|a| quote_word(a)).collect();
        let inner = inner.join(" ");
        if self.args.len() == 1 && inner == self.args[0] {
            return inner;
        }
        let mut s = String::from("\"");
        for c in inner.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

impl fmt::Display for Command {
    /// The words joined by spaces, each quoted when it needs to be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.args.iter().map(|a| quote_word(a)).collect();
        f.write_str(&words.join(" "))
    }
}

/// Quotes one word so that keepalived's quoted-escaped splitting reads it
/// back unchanged.
pub(crate) fn quote_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(c, '\'' | '"' | '\\' | '#' | '!' | '{' | '}' | '$')
        });
    if plain {
        return w.to_string();
    }
    let mut s = String::from("'");
    for c in w.chars() {
        match c {
            '\'' => s.push_str("\\'"),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => s.push_str(&format!("\\{:03o}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// The user (and optionally group) a script runs as.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScriptUser {
    /// User name or numeric uid, as written.
    pub user: String,
    /// Group name or numeric gid, as written; the user's primary group
    /// when absent.
    pub group: Option<String>,
}

impl fmt::Display for ScriptUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{} {}", self.user, g),
            None => f.write_str(&self.user),
        }
    }
}
