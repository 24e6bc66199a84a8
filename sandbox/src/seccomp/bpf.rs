//! seccomp programs in classic BPF, emitted directly from the rule lists.
//!
//! The layout (a reviewer can check it by reading a dump):
//!
//! 1. the architecture must be the native one, else *kill process*;
//! 2. a syscall number with the x32 bit set kills too (but -1, which a
//!    tracer uses to skip a call, goes on to the default action);
//! 3. a binary search over the syscall numbers that have rules (sorted,
//!    compared unsigned): `JGE` splits the numbers in halves until one is
//!    left, which a `JEQ` confirms or sends to the default action. A call
//!    costs about log2(syscalls with rules) comparisons, not one per such
//!    syscall, and every call the kernel makes pays it once per filter;
//! 4. one block per syscall that has rules: its rules in order, the first
//!    whose comparisons all hold decides; none holding means the default
//!    action. All rules of one syscall must carry the same action
//!    ([`BpfError::MixedActions`]), so their order can never change an
//!    answer (libseccomp would rank differing actions; nono's tables never
//!    need that);
//! 5. the default action, last.
//!
//! Conditional jumps reach 255 instructions; a target farther away is
//! reached through an unconditional `JA` placed next to the jump. The
//! program is built from its end backwards, so every target is in place
//! before a jump to it is written.
//!
//! Arguments are 64-bit and compared as two 32-bit halves (the high half
//! first), with the meaning libseccomp gives each comparison: an argument
//! the kernel reads as `int` may carry high bits, and `Eq`, `Ge` and `Ne`
//! see them (a denial then matches, or fails to exclude: both refuse).
//! The test module runs every program through an interpreter and
//! compares each answer with libseccomp's program for the same rules.

use super::table::{ArgCmp, Cmp};

/// What the filter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(i32),
    Notify,
    KillProcess,
}

impl Action {
    /// The `SECCOMP_RET_*` value.
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => 0x7fff_0000,
            Action::Errno(e) => 0x0005_0000 | (e as u32 & 0xffff),
            Action::Notify => 0x7fc0_0000,
            Action::KillProcess => 0x8000_0000,
        }
    }
}

/// One rule: syscall `nr` with every comparison holding gets `action`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub nr: i64,
    pub when: Vec<ArgCmp>,
    pub action: Action,
}

/// A rule list this emitter refuses.
#[derive(Debug, PartialEq, Eq)]
pub enum BpfError {
    /// A rule too long for a conditional jump, or a program too long.
    TooLong,
    /// Rules of this syscall carry different actions.
    MixedActions(i64),
}

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// `struct seccomp_data` offsets.
const NR: u32 = 0;
const ARCH: u32 = 4;
const fn arg_lo(i: u32) -> u32 {
    16 + 8 * i
}
const fn arg_hi(i: u32) -> u32 {
    20 + 8 * i
}
/// `__X32_SYSCALL_BIT`.
const X32_BIT: u32 = 0x4000_0000;

fn op(code: u16, k: u32) -> libc::sock_filter {
    jmp(code, k, 0, 0)
}

fn jmp(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A jump to the end of the rule being emitted: patched once its length
/// is known. Real jumps never reach this value (a rule is short).
const FAIL: u8 = u8::MAX;

/// One comparison; a false one jumps with [`FAIL`], a true one falls
/// through to the next instruction after it.
fn compare(c: &ArgCmp, out: &mut Vec<libc::sock_filter>) {
    let (hi, lo) = (arg_hi(c.arg), arg_lo(c.arg));
    let half = |v: u64| ((v >> 32) as u32, v as u32);
    match c.cmp {
        Cmp::Eq(v) => {
            let (vh, vl) = half(v);
            out.extend([
                op(LD_W_ABS, hi),
                jmp(JEQ, vh, 0, FAIL),
                op(LD_W_ABS, lo),
                jmp(JEQ, vl, 0, FAIL),
            ]);
        }
        Cmp::MaskedEq { mask, value } => {
            let ((mh, ml), (vh, vl)) = (half(mask), half(value));
            for (off, m, v) in [(hi, mh, vh), (lo, ml, vl)] {
                // (x & 0) == 0 holds whatever x is.
                if m == 0 && v == 0 {
                    continue;
                }
                out.push(op(LD_W_ABS, off));
                if m != u32::MAX {
                    out.push(op(AND, m));
                }
                out.push(jmp(JEQ, v, 0, FAIL));
            }
        }
        Cmp::Ne(v) => {
            let (vh, vl) = half(v);
            out.extend([
                op(LD_W_ABS, hi),
                // High halves differ: not equal, the comparison holds.
                jmp(JEQ, vh, 0, 2),
                op(LD_W_ABS, lo),
                jmp(JEQ, vl, FAIL, 0),
            ]);
        }
        Cmp::Ge(v) => {
            let (vh, vl) = half(v);
            out.extend([
                op(LD_W_ABS, hi),
                // A greater high half: the comparison holds.
                jmp(JGT, vh, 3, 0),
                jmp(JEQ, vh, 0, FAIL),
                op(LD_W_ABS, lo),
                jmp(JGE, vl, 0, FAIL),
            ]);
        }
    }
}

/// One rule's instructions: its comparisons, then its action; a failed
/// comparison jumps past the action (to the next rule).
fn rule(r: &Rule) -> Result<Vec<libc::sock_filter>, BpfError> {
    let mut out = Vec::new();
    for c in &r.when {
        compare(c, &mut out);
    }
    out.push(op(RET, r.action.ret()));
    let len = out.len();
    for (i, insn) in out.iter_mut().enumerate() {
        let to_end = u8::try_from(len - i - 1).map_err(|_| BpfError::TooLong)?;
        if to_end == FAIL {
            return Err(BpfError::TooLong);
        }
        if insn.jt == FAIL {
            insn.jt = to_end;
        }
        if insn.jf == FAIL {
            insn.jf = to_end;
        }
    }
    Ok(out)
}

/// The rules grouped by syscall, in the order the syscalls were first
/// listed; each group's rules must share one action.
fn by_syscall(rules: &[Rule]) -> Result<Vec<(i64, Vec<&Rule>)>, BpfError> {
    let mut groups: Vec<(i64, Vec<&Rule>)> = Vec::new();
    for r in rules {
        match groups.iter_mut().find(|(nr, _)| *nr == r.nr) {
            Some((_, g)) if g[0].action != r.action => return Err(BpfError::MixedActions(r.nr)),
            Some((_, g)) => g.push(r),
            None => groups.push((r.nr, vec![r])),
        }
    }
    Ok(groups)
}

/// One syscall's block: its rules up to the first unconditional one
/// (which always decides), then `default` if none was.
fn block(group: &[&Rule], default: Action) -> Result<Vec<libc::sock_filter>, BpfError> {
    let mut body = Vec::new();
    for r in group {
        body.extend(rule(r)?);
        if r.when.is_empty() {
            return Ok(body);
        }
    }
    body.push(op(RET, default.ret()));
    Ok(body)
}

/// The whole program for `rules`, `default` for everything they leave.
pub fn program(rules: &[Rule], default: Action) -> Result<Vec<libc::sock_filter>, BpfError> {
    let kill = Action::KillProcess.ret();
    let mut groups = by_syscall(rules)?;
    groups.sort_by_key(|(nr, _)| *nr as u32);
    // Built backwards: `back[e]` is the instruction `e` places from the end.
    let mut back = Backwards::default();
    let default_at = back.push(op(RET, default.ret()));
    let mut blocks = Vec::with_capacity(groups.len());
    for (nr, group) in &groups {
        // A block ends with a RET, so it is never empty: `at` is its start.
        let at = block(group, default)?
            .into_iter()
            .rev()
            .fold(default_at, |_, insn| back.push(insn));
        blocks.push((*nr as u32, at));
    }
    if !blocks.is_empty() {
        search(&blocks, default_at, &mut back)?;
    }
    // The prologue falls through into the search (or the default).
    for insn in [
        op(LD_W_ABS, ARCH),
        jmp(JEQ, super::names::AUDIT_ARCH, 1, 0),
        op(RET, kill),
        op(LD_W_ABS, NR),
        jmp(JGE, X32_BIT, 0, 2),
        jmp(JEQ, u32::MAX, 1, 0),
        op(RET, kill),
    ]
    .into_iter()
    .rev()
    {
        back.push(insn);
    }
    let mut out = back.0;
    out.reverse();
    if out.len() > libc::BPF_MAXINSNS as usize {
        return Err(BpfError::TooLong);
    }
    Ok(out)
}

/// A program under construction, its last instruction first.
#[derive(Default)]
struct Backwards(Vec<libc::sock_filter>);

impl Backwards {
    /// Put `insn` before everything so far; its place from the end.
    fn push(&mut self, insn: libc::sock_filter) -> usize {
        self.0.push(insn);
        self.0.len() - 1
    }

    /// The offset a jump placed next (at `self.0.len()`) needs to reach `to`.
    fn offset(&self, to: usize) -> usize {
        self.0.len() - to - 1
    }

    /// `to` itself when a conditional jump put next, with up to two
    /// instructions between, reaches it; else a `JA` to it, put now.
    fn reach(&mut self, to: usize) -> Result<usize, BpfError> {
        if self.offset(to) + 2 <= usize::from(u8::MAX) {
            return Ok(to);
        }
        let k = u32::try_from(self.offset(to)).map_err(|_| BpfError::TooLong)?;
        Ok(self.push(op(JA, k)))
    }

    /// Put a conditional jump (`code` with `k`) to `yes` or `no` before
    /// everything so far, with a `JA` beside it for a target out of a
    /// conditional jump's reach; the place of its first instruction.
    fn branch(&mut self, code: u16, k: u32, yes: usize, no: usize) -> Result<usize, BpfError> {
        let no = self.reach(no)?;
        let yes = self.reach(yes)?;
        // Both within reach now (`reach` left room for the two `JA`s).
        let (jt, jf) = (self.offset(yes) as u8, self.offset(no) as u8);
        Ok(self.push(jmp(code, k, jt, jf)))
    }
}

/// The binary search over `blocks` (syscall number and the place of its
/// block, sorted by number), put before everything so far; a number with
/// no block goes to `default_at`. Returns the place of its first
/// instruction.
fn search(
    blocks: &[(u32, usize)],
    default_at: usize,
    back: &mut Backwards,
) -> Result<usize, BpfError> {
    if let [(nr, at)] = blocks {
        return back.branch(JEQ, *nr, *at, default_at);
    }
    let (low, high) = blocks.split_at(blocks.len() / 2);
    // The upper half goes after the lower one (it is built first).
    let high_at = search(high, default_at, back)?;
    let low_at = search(low, default_at, back)?;
    back.branch(JGE, high[0].0, high_at, low_at)
}

/// Run `prog` on one `struct seccomp_data` (syscall `nr`, `arch`, `args`)
/// as the kernel would: its answer. Only the instructions [`program`]
/// emits and libseccomp's use are known; anything else answers
/// *kill process*, as does a jump past the end.
pub fn run(prog: &[libc::sock_filter], nr: u32, arch: u32, args: &[u64; 6]) -> u32 {
    run_counted(prog, nr, arch, args).0
}

/// [`run`], and how many instructions the answer took (the tests bound it).
fn run_counted(prog: &[libc::sock_filter], nr: u32, arch: u32, args: &[u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let kill = Action::KillProcess.ret();
    let (mut acc, mut pc, mut steps) = (0u32, 0usize, 0usize);
    while let Some(i) = prog.get(pc) {
        pc += 1;
        steps += 1;
        let k = i.k;
        let cond = |c: bool| usize::from(if c { i.jt } else { i.jf });
        match i.code {
            LD_W_ABS => {
                let Some(w) = data.get(k as usize..k as usize + 4) else {
                    return (kill, steps);
                };
                acc = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
            JEQ => pc += cond(acc == k),
            JGT => pc += cond(acc > k),
            JGE => pc += cond(acc >= k),
            JSET => pc += cond(acc & k != 0),
            JA => pc += k as usize,
            AND => acc &= k,
            RET => return (k, steps),
            _ => return (kill, steps),
        }
    }
    (kill, steps)
}

#[cfg(test)]
mod tests;
