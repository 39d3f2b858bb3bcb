//! Kernel modules: their `.modinfo` (read from the ELF file), and the
//! order to load a set of them in so that each module's dependencies come
//! first (what `modprobe` does from `modules.dep`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `.modinfo` entries of a module file that matter for loading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `name=`.
    pub name: String,
    /// `depends=`, split.
    pub depends: Vec<String>,
    /// `softdep=pre: ...` modules.
    pub soft_pre: Vec<String>,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// The bytes of section `want` of a little-endian ELF64 file.
pub fn elf_section<'a>(elf: &'a [u8], want: &str) -> Option<&'a [u8]> {
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(u64_at(elf, 0x28)?).ok()?;
    let shentsize = usize::from(u16_at(elf, 0x3a)?);
    let shnum = usize::from(u16_at(elf, 0x3c)?);
    let shstrndx = usize::from(u16_at(elf, 0x3e)?);
    let sh = |i: usize| -> Option<(u32, usize, usize)> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name = u32_at(elf, at)?;
        let off = usize::try_from(u64_at(elf, at + 0x18)?).ok()?;
        let size = usize::try_from(u64_at(elf, at + 0x20)?).ok()?;
        Some((name, off, size))
    };
    let (_, str_off, str_size) = sh(shstrndx)?;
    let strtab = elf.get(str_off..str_off.checked_add(str_size)?)?;
    for i in 0..shnum {
        let (name, off, size) = sh(i)?;
        let n = strtab.get(name as usize..)?;
        let n = &n[..n.iter().position(|c| *c == 0)?];
        if n == want.as_bytes() {
            return elf.get(off..off.checked_add(size)?);
        }
    }
    None
}

/// Whether an ELF executable is statically linked (has no `PT_INTERP`).
pub fn elf_is_static(elf: &[u8]) -> bool {
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) =
        (u64_at(elf, 0x20), u16_at(elf, 0x36), u16_at(elf, 0x38))
    else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let at = phoff as usize + i * usize::from(phentsize);
        u32_at(elf, at) != Some(3)
    })
}

/// The loading-relevant `.modinfo` of module file bytes `ko`.
pub fn modinfo(ko: &[u8]) -> Option<ModInfo> {
    let sec = elf_section(ko, ".modinfo")?;
    let mut m = ModInfo::default();
    for entry in sec.split(|c| *c == 0) {
        let Ok(s) = std::str::from_utf8(entry) else {
            continue;
        };
        if let Some(v) = s.strip_prefix("name=") {
            m.name = v.to_string();
        } else if let Some(v) = s.strip_prefix("depends=") {
            m.depends = v
                .split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
        } else if let Some(v) = s.strip_prefix("softdep=")
            && let Some(pre) = v.trim().strip_prefix("pre:")
        {
            let pre = pre.split("post:").next().unwrap_or("");
            m.soft_pre = pre.split_whitespace().map(str::to_string).collect();
        }
    }
    Some(m)
}

/// A module name as the kernel spells it (`-` becomes `_`).
pub fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

/// Every `*.ko` under `dir`, by canonical module name.
pub fn index(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(n) = p.file_name().and_then(|n| n.to_str())
                && let Some(stem) = n.strip_suffix(".ko")
            {
                out.insert(canonical(stem), p);
            }
        }
    }
    out
}

/// The order to load `wanted` (names) in, dependencies first, each module
/// once, from a lookup of each module's `.modinfo`. A `softdep pre` that
/// names a module in `aliases` (alias -> module) is loaded first too. A
/// wanted module that does not exist is left out and returned in the
/// second list; a missing hard dependency is an error.
pub fn load_order(
    wanted: &[&str],
    info: &impl Fn(&str) -> Option<ModInfo>,
    aliases: &BTreeMap<String, String>,
) -> Result<(Vec<String>, Vec<String>), String> {
    fn visit(
        name: &str,
        info: &impl Fn(&str) -> Option<ModInfo>,
        aliases: &BTreeMap<String, String>,
        done: &mut BTreeSet<String>,
        active: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        if done.contains(name) {
            return Ok(());
        }
        if !active.insert(name.to_string()) {
            return Err(format!("module dependency cycle at {name}"));
        }
        let m = info(name).ok_or_else(|| format!("module {name} not found"))?;
        for pre in &m.soft_pre {
            let target = aliases.get(pre).map_or(pre.as_str(), String::as_str);
            if info(target).is_some() {
                visit(target, info, aliases, done, active, out)?;
            }
        }
        for d in &m.depends {
            visit(&canonical(d), info, aliases, done, active, out)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        active.remove(name);
        done.insert(name.to_string());
        out.push(name.to_string());
        Ok(())
    }
    let (mut done, mut active, mut out, mut missing) =
        (BTreeSet::new(), BTreeSet::new(), Vec::new(), Vec::new());
    for w in wanted {
        let w = canonical(w);
        if info(&w).is_none() {
            missing.push(w);
            continue;
        }
        visit(&w, info, aliases, &mut done, &mut active, &mut out)?;
    }
    Ok((out, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with a `.modinfo` and a `.shstrtab` section.
    fn fake_ko(modinfo: &[u8]) -> Vec<u8> {
        let shstr = b"\0.modinfo\0.shstrtab\0";
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let mi_off = f.len();
        f.extend_from_slice(modinfo);
        let st_off = f.len();
        f.extend_from_slice(shstr);
        while !f.len().is_multiple_of(8) {
            f.push(0);
        }
        let shoff = f.len();
        let mut sh = |name: u32, off: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            f.extend_from_slice(&h);
        };
        sh(0, 0, 0);
        sh(1, mi_off, modinfo.len());
        sh(10, st_off, shstr.len());
        f[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
        f
    }

    #[test]
    fn modinfo_from_elf() {
        let ko = fake_ko(b"license=GPL\0softdep=pre: crc32c\0depends=nf_conntrack,libcrc32c\0name=ip_vs\0vermagic=6.1\0");
        let m = modinfo(&ko).unwrap();
        assert_eq!(m.name, "ip_vs");
        assert_eq!(m.depends, ["nf_conntrack", "libcrc32c"]);
        assert_eq!(m.soft_pre, ["crc32c"]);
        assert_eq!(modinfo(&ko[..40]), None);
        assert_eq!(modinfo(b"not an elf"), None);
        let empty = fake_ko(b"depends=\0name=veth\0");
        assert!(modinfo(&empty).unwrap().depends.is_empty());
    }

    #[test]
    fn dependencies_load_first_once() {
        let db: BTreeMap<&str, (&[&str], &[&str])> = [
            ("ip_vs", (&["nf_conntrack", "libcrc32c"][..], &[][..])),
            ("ip_vs_rr", (&["ip_vs"][..], &[][..])),
            (
                "nf_conntrack",
                (&["nf_defrag_ipv4", "libcrc32c"][..], &[][..]),
            ),
            ("nf_defrag_ipv4", (&[][..], &[][..])),
            ("libcrc32c", (&[][..], &["crc32c"][..])),
            ("crc32c_generic", (&[][..], &[][..])),
            ("loop_a", (&["loop_b"][..], &[][..])),
            ("loop_b", (&["loop_a"][..], &[][..])),
        ]
        .into_iter()
        .collect();
        let info = |n: &str| {
            db.get(n).map(|(d, s)| ModInfo {
                name: n.into(),
                depends: d.iter().map(|x| x.to_string()).collect(),
                soft_pre: s.iter().map(|x| x.to_string()).collect(),
            })
        };
        let aliases: BTreeMap<String, String> = [("crc32c".into(), "crc32c_generic".into())]
            .into_iter()
            .collect();
        let (order, missing) =
            load_order(&["ip_vs_rr", "ip_vs", "ip_vs_twos"], &info, &aliases).unwrap();
        assert_eq!(
            order,
            [
                "nf_defrag_ipv4",
                "crc32c_generic",
                "libcrc32c",
                "nf_conntrack",
                "ip_vs",
                "ip_vs_rr"
            ]
        );
        assert_eq!(missing, ["ip_vs_twos"]);
        assert!(load_order(&["loop_a"], &info, &aliases).is_err());
    }

    #[test]
    fn static_elf_has_no_interpreter() {
        let mut e = vec![0u8; 64 + 56];
        e[..6].copy_from_slice(b"\x7fELF\x02\x01");
        e[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        e[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        e[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        assert!(elf_is_static(&e));
        e[64..68].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        assert!(!elf_is_static(&e));
        assert!(!elf_is_static(b"#!/bin/sh"));
    }
}
