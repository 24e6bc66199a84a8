//! From traced events to findings: each access is judged by the policy
//! code `nono why` uses (the profile's resolved rules and protections), and
//! the ones that need a grant are collapsed into few, sensible grants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use super::events::{Access, Event, Target};
use crate::policy::decide::{self, Op, View};
use crate::policy::protect::under;

/// One filesystem access that matters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub path: PathBuf,
    pub access: Access,
    pub target: Target,
}

impl Need {
    /// The question `why` answers for it: a new entry needs write on its
    /// directory.
    pub fn op(&self) -> Op {
        match self.access {
            Access::Read => Op::Read,
            Access::Write => Op::Write,
        }
    }
}

/// A grant to propose.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cand {
    pub path: PathBuf,
    pub tree: bool,
    pub read: bool,
    pub write: bool,
}

/// A path nono will not grant through a profile fragment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refused {
    pub path: PathBuf,
    pub op: &'static str,
    /// For protected paths: the category; otherwise why nothing grants it.
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Fs {
    pub needs: Vec<Need>,
    pub allowed: Vec<Need>,
    pub protected: Vec<Refused>,
    pub ungrantable: Vec<Refused>,
}

/// Judge every filesystem event against `view`.
pub fn judge(events: &[Event], view: &View) -> Fs {
    let mut seen = BTreeSet::new();
    for e in events {
        if let Event::Fs {
            path,
            access,
            target,
        } = e
        {
            seen.insert(Need {
                path: path.clone(),
                access: *access,
                target: *target,
            });
        }
    }
    let mut out = Fs::default();
    for n in seen {
        let a = decide::path(view, &n.path, n.op());
        if a.allowed() {
            out.allowed.push(n);
        } else if a.reason == "sensitive_path" {
            out.protected.push(Refused {
                path: n.path.clone(),
                op: n.op().name(),
                why: a.category.unwrap_or_default(),
            });
        } else if a.suggestion.is_none() {
            out.ungrantable.push(Refused {
                path: n.path.clone(),
                op: n.op().name(),
                why: a.details,
            });
        } else {
            out.needs.push(n);
        }
    }
    out.protected.dedup();
    out
}

/// Directories never proposed as a whole: `/`, its direct children and
/// the home directory (too broad to grant for a few files).
fn too_broad(dir: &Path, home: Option<&Path>) -> bool {
    dir.components().count() <= 2 || home.is_some_and(|h| under(h, dir))
}

/// Collapse needs into grants: everything in the working directory into
/// one grant of it, three or more files of one directory into that
/// directory, the rest file by file.
pub fn collapse(needs: &[Need], workdir: &Path, home: Option<&Path>) -> Vec<Cand> {
    let mut cands: Vec<Cand> = needs.iter().map(cand_of).collect();
    let wd: Vec<Cand> = cands
        .iter()
        .filter(|c| under(&c.path, workdir))
        .cloned()
        .collect();
    if !wd.is_empty() && workdir != Path::new("/") {
        cands.retain(|c| !under(&c.path, workdir));
        cands.push(union(workdir, true, &wd));
    }
    let mut cands = merge(cands);
    // Upwards until nothing changes: a directory three or more of whose
    // entries are proposed is proposed instead.
    loop {
        let before = cands.len();
        let mut by_dir: BTreeMap<PathBuf, Vec<Cand>> = BTreeMap::new();
        for c in cands.iter().filter(|c| !under(&c.path, workdir)) {
            if let Some(p) = c.path.parent() {
                by_dir.entry(p.to_path_buf()).or_default().push(c.clone());
            }
        }
        for (dir, entries) in by_dir {
            let distinct: BTreeSet<&PathBuf> = entries.iter().map(|f| &f.path).collect();
            if distinct.len() >= 3 && !too_broad(&dir, home) {
                cands.push(union(&dir, true, &entries));
            }
        }
        cands = merge(cands);
        if cands.len() == before {
            return cands;
        }
    }
}

fn cand_of(n: &Need) -> Cand {
    let (read, write) = (n.access == Access::Read, n.access == Access::Write);
    match n.target {
        Target::Entry => Cand {
            path: n.path.clone(),
            tree: true,
            read: false,
            write: true,
        },
        Target::Node if n.path.is_dir() => Cand {
            path: n.path.clone(),
            tree: true,
            read,
            write,
        },
        // A file written and gone by now (a temporary file renamed into
        // place): its directory must take new entries.
        Target::Node if write && !n.path.exists() => Cand {
            path: n.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            tree: true,
            read: false,
            write: true,
        },
        Target::Node => Cand {
            path: n.path.clone(),
            tree: false,
            read,
            write,
        },
    }
}

fn union(path: &Path, tree: bool, of: &[Cand]) -> Cand {
    Cand {
        path: path.to_path_buf(),
        tree,
        read: of.iter().any(|c| c.read),
        write: of.iter().any(|c| c.write),
    }
}

/// Same path and kind: one grant; a grant inside a tree grant that already
/// gives its access: dropped.
fn merge(cands: Vec<Cand>) -> Vec<Cand> {
    let mut by: BTreeMap<(PathBuf, bool), Cand> = BTreeMap::new();
    for c in cands {
        let e = by.entry((c.path.clone(), c.tree)).or_insert(Cand {
            read: false,
            write: false,
            ..c.clone()
        });
        e.read |= c.read;
        e.write |= c.write;
    }
    let all: Vec<Cand> = by.into_values().collect();
    all.iter()
        .filter(|c| {
            !all.iter().any(|t| {
                t.tree
                    && t != *c
                    && under(&c.path, &t.path)
                    && (t.path != c.path || !c.tree)
                    && (t.read || !c.read)
                    && (t.write || !c.write)
            })
        })
        .cloned()
        .collect()
}

/// A network destination seen in the trace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dest {
    /// The name a DNS answer gave the address, else the address.
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

impl Dest {
    /// As `--allow-domain` takes it: a bare name covers 80 and 443.
    pub fn rule(&self) -> String {
        let named = self.host.parse::<IpAddr>().is_err();
        match (named, self.port) {
            (true, 80 | 443) => self.host.clone(),
            (true, p) => format!("{}:{p}", self.host),
            (false, p) => SocketAddr::new(self.addr, p).to_string(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Net {
    pub dests: Vec<Dest>,
    pub dns_servers: Vec<SocketAddr>,
    pub listen: Vec<u16>,
    pub unix: Vec<(PathBuf, bool)>,
}

/// Destinations (named from DNS answers), resolvers, listening ports and
/// unix sockets.
pub fn network(events: &[Event]) -> Net {
    let mut names: BTreeMap<IpAddr, String> = BTreeMap::new();
    for e in events {
        if let Event::Dns { name, addrs } = e {
            for a in addrs {
                names.entry(*a).or_insert_with(|| name.clone());
            }
        }
    }
    let (mut dests, mut dns, mut listen, mut unix) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for e in events {
        match e {
            Event::Connect { addr, udp: true } if addr.port() == 53 => {
                dns.insert(*addr);
            }
            Event::Connect { addr, .. } if addr.port() != 0 => {
                let ip = canonical_ip(addr.ip());
                dests.insert(Dest {
                    host: names.get(&ip).cloned().unwrap_or_else(|| ip.to_string()),
                    port: addr.port(),
                    addr: ip,
                });
            }
            Event::Listen { port } => {
                listen.insert(*port);
            }
            Event::Unix { path, bind } => {
                unix.insert((path.clone(), *bind));
            }
            _ => {}
        }
    }
    Net {
        dests: dests.into_iter().collect(),
        dns_servers: dns.into_iter().collect(),
        listen: listen.into_iter().collect(),
        unix: unix.into_iter().collect(),
    }
}

/// `::ffff:1.2.3.4` as `1.2.3.4`.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(p: &str, access: Access, target: Target) -> Need {
        Need {
            path: p.into(),
            access,
            target,
        }
    }

    #[test]
    fn workdir_and_busy_directories_collapse() {
        let needs = vec![
            need("/w/a/cfg", Access::Read, Target::Node),
            need("/w/out", Access::Write, Target::Entry),
            need("/opt/x/lib/1", Access::Read, Target::Node),
            need("/opt/x/lib/2", Access::Read, Target::Node),
            need("/opt/x/lib/3", Access::Read, Target::Node),
            need("/opt/y/one", Access::Read, Target::Node),
            need("/home/u/a", Access::Read, Target::Node),
            need("/home/u/b", Access::Read, Target::Node),
            need("/home/u/c", Access::Read, Target::Node),
        ];
        let c = collapse(&needs, Path::new("/w"), Some(Path::new("/home/u")));
        let show: Vec<(String, bool, bool, bool)> = c
            .iter()
            .map(|c| (c.path.display().to_string(), c.tree, c.read, c.write))
            .collect();
        assert!(show.contains(&("/w".into(), true, true, true)), "{show:?}");
        assert!(
            show.contains(&("/opt/x/lib".into(), true, true, false)),
            "{show:?}"
        );
        assert!(
            show.contains(&("/opt/y/one".into(), false, true, false)),
            "{show:?}"
        );
        assert!(
            show.contains(&("/home/u/a".into(), false, true, false)),
            "{show:?}"
        );
        assert!(!show.iter().any(|s| s.0 == "/opt/x/lib/1"), "{show:?}");
        assert!(!show.iter().any(|s| s.0 == "/home/u"), "{show:?}");
    }

    #[test]
    fn destinations_take_names_from_dns_answers() {
        let ip: IpAddr = "93.184.216.34".parse().unwrap();
        let ev = vec![
            Event::Dns {
                name: "api.example.com".into(),
                addrs: vec![ip],
            },
            Event::Connect {
                addr: "127.0.0.53:53".parse().unwrap(),
                udp: true,
            },
            Event::Connect {
                addr: SocketAddr::new(ip, 443),
                udp: false,
            },
            Event::Connect {
                addr: "[::ffff:127.0.0.1]:8080".parse().unwrap(),
                udp: false,
            },
        ];
        let n = network(&ev);
        let rules: Vec<String> = n.dests.iter().map(Dest::rule).collect();
        assert_eq!(rules, vec!["127.0.0.1:8080", "api.example.com"]);
        assert_eq!(n.dns_servers.len(), 1);
    }
}
