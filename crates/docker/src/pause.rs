//! The pause image: a tiny static program that only waits, holding the network namespace that
//! the containers of a multi-container `awsvpc` task share (the ECS agent does the same with its
//! pause container).
//!
//! The machine has no registry to pull a pause image from, so ecsim makes one: a hand-assembled
//! ELF executable (x86_64 or aarch64) in a one-file tar archive that `docker import` turns into an
//! image. Pure bytes; the runtime imports them.

/// Image name of the pause image (the tag changes when the program does).
pub const PAUSE_IMAGE: &str = "ecsim-pause:1";

const LOAD_ADDRESS: u64 = 0x40_0000;
const ELF_HEADER_LEN: u64 = 64;
const PROGRAM_HEADER_LEN: u64 = 56;

/// Machine code that blocks forever without burning CPU, per architecture.
fn code(arch: &str) -> Option<(u16, Vec<u8>)> {
    match arch {
        // loop: mov eax, 34 (pause); syscall; jmp loop
        "x86_64" => Some((0x3e, vec![0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7])),
        // loop: x0..x3 = 0; x8 = 73 (ppoll); svc #0; b loop — ppoll with no fds and no timeout
        "aarch64" => {
            let words: [u32; 7] = [
                0xd280_0000,
                0xd280_0001,
                0xd280_0002,
                0xd280_0003,
                0xd280_0928,
                0xd400_0001,
                0x17ff_fffa,
            ];
            Some((0xb7, words.iter().flat_map(|w| w.to_le_bytes()).collect()))
        }
        _ => None,
    }
}

/// A static ELF executable for `arch` (`std::env::consts::ARCH`) that waits forever.
pub fn elf(arch: &str) -> Option<Vec<u8>> {
    let (machine, code) = code(arch)?;
    let code_offset = ELF_HEADER_LEN + PROGRAM_HEADER_LEN;
    let total = code_offset + code.len() as u64;
    let mut out = Vec::with_capacity(usize::try_from(total).ok()?);
    // e_ident: magic, 64-bit, little endian, version 1, System V ABI.
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&machine.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(LOAD_ADDRESS + code_offset).to_le_bytes()); // entry
    out.extend_from_slice(&ELF_HEADER_LEN.to_le_bytes()); // program headers
    out.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    for half in [64u16, 56, 1, 64, 0, 0] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    // One PT_LOAD segment, read + execute, mapping the whole file.
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&5u32.to_le_bytes());
    for quad in [0, LOAD_ADDRESS, LOAD_ADDRESS, total, total, 0x1000] {
        out.extend_from_slice(&quad.to_le_bytes());
    }
    out.extend_from_slice(&code);
    Some(out)
}

/// A ustar archive holding one executable file.
pub fn tar_with_file(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, b"0000755\0");
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(&mut header, 124, format!("{:011o}\0", contents.len()).as_bytes());
    put(&mut header, 136, b"00000000000\0");
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    put(&mut header, 148, format!("{checksum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(contents);
    let padding = (512 - contents.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, padding + 1024));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_is_well_formed() {
        let x86 = elf("x86_64").unwrap();
        assert_eq!(&x86[..4], b"\x7fELF");
        assert_eq!(x86.len(), 120 + 9);
        let entry = u64::from_le_bytes(x86[24..32].try_into().unwrap());
        assert_eq!(entry, 0x40_0078);
        let arm = elf("aarch64").unwrap();
        assert_eq!(u16::from_le_bytes([arm[18], arm[19]]), 0xb7);
        assert_eq!(arm.len() % 4, 0);
        assert!(elf("riscv64").is_none());
    }

    #[test]
    fn tar_header_checksums() {
        let tar = tar_with_file("pause", b"abc");
        assert_eq!(tar.len(), 512 + 512 + 1024);
        let mut h = tar[..512].to_vec();
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(&tar[512..515], b"abc");
    }
}
