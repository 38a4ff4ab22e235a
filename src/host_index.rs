//! The host index of `policies`: for a request's host, the entries that name it, one of its
//! parent domains (`*.domain`) or no host, in configuration order, without looking at the
//! entries of other hosts. Selection cost stays flat from one entry to thousands.

use std::collections::HashMap;

use crate::policy_set::Entry;
use crate::route::HostPattern;

/// The most lists one request merges (its exact host, one per parent domain, any host);
/// a deeper host name falls back to trying every entry.
const MAX_LISTS: usize = 16;

/// Entries by host: each list holds entry indices in configuration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostIndex {
    exact: HashMap<String, Vec<usize>>,
    subdomains: HashMap<String, Vec<usize>>,
    any_host: Vec<usize>,
}

impl HostIndex {
    pub(crate) fn new(entries: &[Entry]) -> Self {
        let mut index = HostIndex::default();
        for (i, entry) in entries.iter().enumerate() {
            if entry.hosts.is_empty() {
                index.any_host.push(i);
            }
            for host in &entry.hosts {
                let (map, key) = match host {
                    HostPattern::Exact(name) => (&mut index.exact, name),
                    HostPattern::Subdomains(domain) => (&mut index.subdomains, domain),
                };
                let list = map.entry(key.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        index
    }

    /// Calls `visit` with the index of every entry whose host condition holds, in
    /// configuration order, until it returns `true`.
    pub(crate) fn for_each_candidate<'s>(
        &'s self,
        entries: &[Entry],
        host: &[u8],
        mut visit: impl FnMut(usize) -> bool,
    ) {
        let mut buf = [0u8; 256];
        let long;
        let host = match buf.get_mut(..host.len()) {
            Some(lower) => {
                lower.copy_from_slice(host);
                lower.make_ascii_lowercase();
                std::str::from_utf8(lower).unwrap_or("")
            }
            // A longer host still matches a `*.domain` entry: lower-cased on the heap.
            None => {
                long = String::from_utf8(host.to_ascii_lowercase()).unwrap_or_default();
                long.as_str()
            }
        };
        let mut lists: [&'s [usize]; MAX_LISTS] = [&[]; MAX_LISTS];
        let mut n = 0;
        let mut add = |list: Option<&'s Vec<usize>>| {
            if let Some(list) = list {
                if let Some(slot) = lists.get_mut(n) {
                    *slot = list;
                }
                n += 1;
            }
        };
        add(Some(&self.any_host));
        add(self.exact.get(host));
        let mut from = 0;
        while let Some(dot) = host[from..].find('.') {
            from += dot + 1;
            // `*.domain` covers subdomains only: something before the dot (`.domain` is none).
            if from > 1 {
                add(self.subdomains.get(&host[from..]));
            }
        }
        if n > MAX_LISTS {
            // A host with more labels than lists kept: try every entry, in order.
            for (i, entry) in entries.iter().enumerate() {
                if matches_host(entry, host) && visit(i) {
                    return;
                }
            }
            return;
        }
        // A merge of sorted lists; an entry listed twice (two hosts) comes out once.
        let mut last = None;
        loop {
            let Some(k) = (0..n)
                .filter(|&k| !lists[k].is_empty())
                .min_by_key(|&k| lists[k][0])
            else {
                return;
            };
            let i = lists[k][0];
            lists[k] = &lists[k][1..];
            if last != Some(i) {
                last = Some(i);
                if visit(i) {
                    return;
                }
            }
        }
    }
}

/// Whether the entry's host condition holds for a lower-case request host.
fn matches_host(entry: &Entry, host: &str) -> bool {
    entry.hosts.is_empty() || entry.hosts.iter().any(|h| h.matches(host))
}
