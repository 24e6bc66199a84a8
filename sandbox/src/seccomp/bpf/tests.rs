//! The emitted programs give the answers libseccomp's programs give for
//! the same rules: both are run through a classic-BPF interpreter over
//! every syscall number, foreign architectures, x32 numbers and, for each
//! syscall with comparisons, argument values at and around every constant.

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use super::super::table::{ArgCmp, Cmp};
use super::super::{allowlist_rules, deny_rules, Allowed, AllowedIf, Refused};
use super::{program, Action, BpfError, Rule};
use crate::{CapabilitySet, NetworkPolicy};

const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// The interpreter, which must know every instruction both emitters use.
fn eval(prog: &[libc::sock_filter], nr: u32, arch: u32, args: &[u64; 6]) -> u32 {
    use std::collections::HashSet;
    let known: HashSet<u16> = [
        super::LD_W_ABS,
        super::JEQ,
        super::JGT,
        super::JGE,
        super::JSET,
        super::JA,
        super::AND,
        super::RET,
    ]
    .into();
    assert!(
        prog.iter().all(|i| known.contains(&i.code)),
        "an instruction the interpreter does not know"
    );
    super::run(prog, nr, arch, args)
}

fn scmp_action(a: Action) -> ScmpAction {
    match a {
        Action::Allow => ScmpAction::Allow,
        Action::Errno(e) => ScmpAction::Errno(e),
        Action::Notify => ScmpAction::Notify,
        Action::KillProcess => ScmpAction::KillProcess,
    }
}

fn scmp_compare(c: &ArgCmp) -> ScmpArgCompare {
    let (op, datum) = match c.cmp {
        Cmp::MaskedEq { mask, value } => (ScmpCompareOp::MaskedEqual(mask), value),
        Cmp::Eq(v) => (ScmpCompareOp::Equal, v),
        Cmp::Ne(v) => (ScmpCompareOp::NotEqual, v),
        Cmp::Ge(v) => (ScmpCompareOp::GreaterEqual, v),
    };
    ScmpArgCompare::new(c.arg, op, datum)
}

/// libseccomp's program for the same rules.
fn reference(rules: &[Rule], default: Action) -> Vec<libc::sock_filter> {
    let mut ctx = ScmpFilterContext::new(scmp_action(default)).unwrap();
    ctx.set_act_badarch(ScmpAction::KillProcess).unwrap();
    for r in rules {
        let nr = ScmpSyscall::from(r.nr as i32);
        let cmps: Vec<ScmpArgCompare> = r.when.iter().map(scmp_compare).collect();
        ctx.add_rule_conditional(scmp_action(r.action), nr, &cmps)
            .unwrap();
    }
    let mut out = tempfile::tempfile().unwrap();
    ctx.export_bpf(&out).unwrap();
    use std::io::{Read, Seek};
    out.rewind().unwrap();
    let mut raw = Vec::new();
    out.read_to_end(&mut raw).unwrap();
    raw.chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Values at and around each constant an argument is compared with.
fn candidates(cmps: &[&ArgCmp]) -> Vec<u64> {
    let mut v = vec![0, 1, u64::MAX, 1 << 32, u64::from(u32::MAX)];
    for c in cmps {
        let (x, mask) = match c.cmp {
            Cmp::Eq(x) | Cmp::Ne(x) | Cmp::Ge(x) => (x, u64::MAX),
            Cmp::MaskedEq { mask, value } => (value, mask),
        };
        let low = mask & mask.wrapping_neg();
        let high = if mask == 0 {
            0
        } else {
            1 << (63 - mask.leading_zeros())
        };
        v.extend([
            x,
            x.wrapping_sub(1),
            x.wrapping_add(1),
            x | 1 << 32,
            x ^ 1 << 63,
            x ^ low,
            x ^ high,
            x | !mask,
            (x & 0xffff_ffff) | 0xdead_0000_0000_0000,
        ]);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Every argument vector worth trying for syscall `nr`'s rules: for each
/// rule, the product of the values around each of its comparisons (the
/// arguments it leaves alone at 0 and at all ones).
fn arg_vectors(rules: &[Rule], nr: i64) -> Vec<[u64; 6]> {
    let mut out = vec![[0u64; 6]];
    for r in rules.iter().filter(|r| r.nr == nr && !r.when.is_empty()) {
        for rest in [0, u64::MAX] {
            let mut vectors = vec![[rest; 6]];
            for arg in 0..6u32 {
                let cmps: Vec<&ArgCmp> = r.when.iter().filter(|c| c.arg == arg).collect();
                if cmps.is_empty() {
                    continue;
                }
                let values = candidates(&cmps);
                vectors = vectors
                    .iter()
                    .flat_map(|base| {
                        values.iter().map(move |&x| {
                            let mut a = *base;
                            a[arg as usize] = x;
                            a
                        })
                    })
                    .collect();
            }
            out.extend(vectors);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Ours and libseccomp's agree on every input tried; returns how many.
fn agree(rules: &[Rule], default: Action) -> usize {
    let ours = program(rules, default).unwrap();
    let theirs = reference(rules, default);
    let mut tried = 0;
    let native = super::super::names::AUDIT_ARCH;
    let mut numbers: Vec<u32> = (0..=470).collect();
    numbers.extend([
        u32::MAX,
        0x4000_0000,
        0x4000_0029,
        0x4000_0200,
        0x7fff_ffff,
        0x8000_0000,
    ]);
    for nr in numbers {
        let vectors = arg_vectors(rules, i64::from(nr));
        for arch in [native, AUDIT_ARCH_I386, 0] {
            for args in &vectors {
                let (a, b) = (eval(&ours, nr, arch, args), eval(&theirs, nr, arch, args));
                assert_eq!(
                    a, b,
                    "nr {nr} arch {arch:#x} args {args:x?}: ours {a:#x}, libseccomp {b:#x}"
                );
                tried += 1;
            }
        }
    }
    tried
}

fn flatten(rules: Vec<Option<Rule>>) -> Vec<Rule> {
    rules.into_iter().flatten().collect()
}

#[test]
fn agent_filters_answer_as_libseccomps_do() {
    let mut variants = Vec::new();
    for net in [
        NetworkPolicy::Allowed,
        NetworkPolicy::Blocked,
        NetworkPolicy::UnixOnly,
        NetworkPolicy::TcpPorts,
    ] {
        for flags in 0..8u8 {
            let mut caps = CapabilitySet::new();
            caps.set_network(net)
                .set_unix_sockets(flags & 1 != 0)
                .set_sysv_ipc(flags & 2 != 0)
                .set_kernel_keyring(flags & 4 != 0);
            variants.push(caps);
        }
    }
    let mut sup = CapabilitySet::new();
    sup.set_supervisor(true).set_self_trace(true);
    variants.push(sup);
    let mut ports = CapabilitySet::new();
    ports.allow_tcp_connect(443).allow_tcp_bind(8080);
    variants.push(ports);
    for caps in &variants {
        let rules = flatten(deny_rules(caps).unwrap());
        assert!(agree(&rules, Action::Allow) > 1000);
    }
}

#[test]
fn allowlists_answer_as_libseccomps_do() {
    let allowed = [
        Allowed {
            name: "read",
            why: "",
        },
        Allowed {
            name: "write",
            why: "",
        },
        Allowed {
            name: "exit_group",
            why: "",
        },
    ];
    const WHEN: &[ArgCmp] = &[
        ArgCmp {
            arg: 0,
            cmp: Cmp::Eq(libc::AF_UNIX as u64),
        },
        ArgCmp {
            arg: 1,
            cmp: Cmp::MaskedEq {
                mask: 0xf,
                value: 5,
            },
        },
    ];
    const NO_NEWUSER: &[ArgCmp] = &[ArgCmp {
        arg: 0,
        cmp: Cmp::MaskedEq {
            mask: libc::CLONE_NEWUSER as u64,
            value: 0,
        },
    }];
    let allowed_if = [
        AllowedIf {
            name: "socket",
            when: WHEN,
            why: "",
        },
        AllowedIf {
            name: "clone",
            when: NO_NEWUSER,
            why: "",
        },
    ];
    let refused = [Refused {
        name: "clone3",
        errno: libc::ENOSYS,
        why: "",
    }];
    let rules = flatten(allowlist_rules(&allowed, &allowed_if, &refused).unwrap());
    for default in [Action::KillProcess, Action::Errno(libc::EPERM)] {
        assert!(agree(&rules, default) > 1000);
    }
}

/// A rule of syscall `nr`: `when` as (argument, comparison) pairs.
fn rule(nr: i64, when: &[(u32, Cmp)], action: Action) -> Rule {
    let when = when.iter().map(|&(arg, cmp)| ArgCmp { arg, cmp }).collect();
    Rule { nr, when, action }
}

#[test]
fn notify_filters_answer_as_libseccomps_do() {
    let nr = |n: &str| super::super::names::number(n).unwrap();
    let rules = vec![
        rule(nr("connect"), &[], Action::Notify),
        rule(nr("sendto"), &[(4, Cmp::Ne(0))], Action::Notify),
        rule(nr("fchmodat"), &[], Action::Notify),
    ];
    assert!(agree(&rules, Action::Allow) > 1000);
}

#[test]
fn comparisons_of_every_kind_and_several_per_syscall_agree() {
    let (e1, e13) = (Action::Errno(1), Action::Errno(13));
    let masked = |mask, value| Cmp::MaskedEq { mask, value };
    let rules = vec![
        rule(41, &[(0, Cmp::Ge(46))], e1),
        rule(41, &[(0, Cmp::Eq(10)), (2, Cmp::Eq(262))], e1),
        rule(53, &[(0, Cmp::Ne(1))], e1),
        rule(16, &[(1, masked(0xffff_ffff, 0x5412))], e13),
        rule(
            16,
            &[(1, masked(0xffff_0000_0000_ffff, 0x1234_0000_0000_0042))],
            e13,
        ),
        rule(16, &[(1, Cmp::Ge(0x1_0000_0000))], e13),
    ];
    assert!(agree(&rules, Action::Allow) > 1000);
}

#[test]
fn a_long_block_is_skipped_with_a_long_jump() {
    // 60 rules of 3-4 instructions each: the syscall's block is longer
    // than a conditional jump reaches.
    let rules: Vec<Rule> = (0..60)
        .map(|af| rule(41, &[(0, Cmp::Eq(af))], Action::Errno(1)))
        .chain([rule(42, &[], Action::Errno(2))])
        .collect();
    let prog = program(&rules, Action::Allow).unwrap();
    assert!(prog
        .iter()
        .any(|i| u32::from(i.code) == libc::BPF_JMP | libc::BPF_JA));
    assert!(agree(&rules, Action::Allow) > 1000);
}

#[test]
fn differing_actions_for_one_syscall_are_refused() {
    let mixed = [
        rule(41, &[(0, Cmp::Eq(10))], Action::Errno(1)),
        rule(41, &[], Action::Errno(13)),
    ];
    assert_eq!(
        program(&mixed, Action::Allow),
        Err(BpfError::MixedActions(41))
    );
    let same = [
        rule(41, &[(0, Cmp::Eq(10))], Action::Errno(1)),
        rule(41, &[], Action::Errno(1)),
    ];
    assert!(agree(&same, Action::Allow) > 1000);
}

#[test]
fn a_call_costs_a_binary_search_not_a_scan() {
    // The agent's largest deny list: every syscall without rules (most of
    // what a program calls) is answered after the prologue, about log2 of
    // the ruled syscalls' count in comparisons (each possibly with a
    // `JA`) and the default's `RET`; a linear layout took one comparison
    // per ruled syscall.
    let mut caps = CapabilitySet::new();
    caps.set_network(NetworkPolicy::Blocked);
    let rules = flatten(deny_rules(&caps).unwrap());
    let prog = program(&rules, Action::Allow).unwrap();
    let mut ruled: Vec<i64> = rules.iter().map(|r| r.nr).collect();
    ruled.sort_unstable();
    ruled.dedup();
    assert!(ruled.len() >= 32, "{} ruled syscalls", ruled.len());
    let depth = usize::BITS - (ruled.len() - 1).leading_zeros();
    let bound = 7 + 2 * (depth as usize + 1) + 1;
    assert!(bound < ruled.len());
    let native = super::super::names::AUDIT_ARCH;
    for nr in (0..=470u32).filter(|n| !ruled.contains(&i64::from(*n))) {
        let (answer, steps) = super::run_counted(&prog, nr, native, &[0; 6]);
        assert_eq!(answer, Action::Allow.ret(), "nr {nr}");
        assert!(steps <= bound, "nr {nr}: {steps} steps, bound {bound}");
    }
}
