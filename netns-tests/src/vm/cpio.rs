//! The `newc` cpio archive the kernel unpacks as its initramfs
//! (`Documentation/driver-api/early-userspace/buffer-format.rst`):
//! directories, regular files, symlinks and device nodes, each a 110-byte
//! ASCII header, the NUL-terminated name and the data, padded to four
//! bytes, ended by `TRAILER!!!`.

/// Builds an archive in memory.
#[derive(Debug, Default)]
pub struct Archive {
    buf: Vec<u8>,
    ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl Archive {
    /// An empty archive.
    pub fn new() -> Archive {
        Archive::default()
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let name = name.trim_start_matches('/');
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & S_IFDIR != 0 { 2 } else { 1 },
            0, // mtime: fixed, so the archive is reproducible
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// A directory (mode 0755).
    pub fn dir(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, (0, 0), &[]);
    }

    /// A regular file with permission bits `perm`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, S_IFREG | (perm & 0o7777), (0, 0), data);
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    /// A character device node.
    pub fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | (perm & 0o7777), (major, minor), &[]);
    }

    /// The finished archive (with its trailer).
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        // The kernel reads whole 512-byte blocks happily; pad like cpio does.
        while !self.buf.len().is_multiple_of(512) {
            self.buf.push(0);
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entry = (String, u32, (u32, u32), Vec<u8>);

    /// Reads a newc archive back: (name, mode, rdev, data) per entry.
    fn read(a: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut at = 0;
        let hex = |b: &[u8]| u32::from_str_radix(std::str::from_utf8(b).unwrap(), 16).unwrap();
        loop {
            assert_eq!(&a[at..at + 6], b"070701", "magic at {at}");
            let f = |i: usize| hex(&a[at + 6 + i * 8..at + 14 + i * 8]);
            let (mode, size, rmaj, rmin, nsize) = (f(1), f(6), f(9), f(10), f(11));
            let name_at = at + 110;
            let name =
                String::from_utf8(a[name_at..name_at + nsize as usize - 1].to_vec()).unwrap();
            let data_at = (name_at + nsize as usize).next_multiple_of(4);
            let data = a[data_at..data_at + size as usize].to_vec();
            at = (data_at + size as usize).next_multiple_of(4);
            if name == "TRAILER!!!" {
                break;
            }
            out.push((name, mode, (rmaj, rmin), data));
        }
        out
    }

    #[test]
    fn entries_read_back() {
        let mut a = Archive::new();
        a.dir("/bin");
        a.file("/bin/init", 0o755, b"#!/bin/sh\n");
        a.symlink("sh", "busybox");
        a.char_dev("dev/console", 0o600, 5, 1);
        a.file("odd", 0o644, b"12345");
        let bytes = a.finish();
        assert_eq!(bytes.len() % 512, 0);
        let e = read(&bytes);
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].0, "bin");
        assert_eq!(e[0].1, 0o040755);
        assert_eq!(
            e[1],
            ("bin/init".into(), 0o100755, (0, 0), b"#!/bin/sh\n".to_vec())
        );
        assert_eq!(e[2], ("sh".into(), 0o120777, (0, 0), b"busybox".to_vec()));
        assert_eq!(e[3].1, 0o020600);
        assert_eq!(e[3].2, (5, 1));
        assert_eq!(e[4].3, b"12345");
    }
}
