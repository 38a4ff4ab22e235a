//! IP-address hosts as browsers serialize them (WHATWG URL): `127.1` is `127.0.0.1`,
//! `[0:0::1]` is `[::1]`. A configured origin or host written in another form would never
//! match what a browser sends, so the configuration layer refuses it with this form.

use std::net::Ipv6Addr;

/// For a host that is an IP address (bracketed IPv6, or a name whose last label is a
/// number), its canonical form as browsers serialize it, or `Err` when it is not a valid
/// address. `None` for a host name.
pub fn canonical_ip(host: &str) -> Option<Result<String, ()>> {
    if let Some(v6) = host.strip_prefix('[') {
        let inner = v6.strip_suffix(']')?;
        return Some(
            inner
                .parse::<Ipv6Addr>()
                .map(serialize_ipv6)
                .map_err(|_| ()),
        );
    }
    ends_in_number(host)
        .then(|| parse_ipv4(host).map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])))
}

/// WHATWG URL's "ends in a number": such a host is parsed as an IPv4 address.
pub fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// WHATWG URL's IPv4 parser: one to four parts, each decimal, octal (`0` prefix) or hex
/// (`0x`), the last filling the remaining bytes (`127.1` is `127.0.0.1`).
fn parse_ipv4(host: &str) -> Result<[u8; 4], ()> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return Err(());
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or(part.strip_prefix("0X"))
        {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if part.is_empty() {
            return Err(());
        }
        let n = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).map_err(|_| ())?
        };
        numbers.push(n);
    }
    let (last, init) = numbers.split_last().ok_or(())?;
    if init.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return Err(());
    }
    let mut address = *last;
    for (i, n) in init.iter().enumerate() {
        address += n << (8 * (3 - i));
    }
    let b = (address as u32).to_be_bytes();
    Ok([b[0], b[1], b[2], b[3]])
}

/// An IPv6 address as WHATWG URL serializes it: lower-case hex without leading zeros, the
/// first longest run of two or more zero pieces written `::`, never a dotted IPv4 tail.
fn serialize_ipv6(address: Ipv6Addr) -> String {
    let pieces = address.segments();
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &piece) in pieces.iter().enumerate() {
        if piece == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let mut out = String::from("[");
    let mut i = 0;
    while i < 8 {
        if best.1 >= 2 && i == best.0 {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += best.1;
            continue;
        }
        out.push_str(&format!("{:x}", pieces[i]));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn ipv6_serialization_follows_whatwg() {
        for (text, want) in [
            ("::", "[::]"),
            ("1::", "[1::]"),
            ("1:0:0:2:0:0:0:3", "[1:0:0:2::3]"),
            ("1:0:0:2:0:0:3:4", "[1::2:0:0:3:4]"),
            ("1:0:2:3:4:5:6:7", "[1:0:2:3:4:5:6:7]"),
            ("::ffff:1.2.3.4", "[::ffff:102:304]"),
        ] {
            assert_eq!(serialize_ipv6(text.parse().unwrap()), want, "{text}");
        }
    }
}
