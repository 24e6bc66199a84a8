//! `extends`: a child profile on top of its parents. Lists and maps
//! accumulate (a child can add grants, never silently drop a parent's
//! protections); scalars the child sets win.

use super::profile::{Commands, GroupSelection, Profile, Undo};

fn cat(base: &mut Vec<String>, more: &[String]) {
    for m in more {
        if !base.contains(m) {
            base.push(m.clone());
        }
    }
}

fn cat_opt<T: Default + Clone>(base: &mut Option<T>, more: &Option<T>, f: impl Fn(&mut T, &T)) {
    if let Some(m) = more {
        f(base.get_or_insert_with(T::default), m);
    }
}

/// `child` applied over `base`.
pub fn merge(mut base: Profile, child: &Profile) -> Profile {
    let m = &child.meta;
    base.meta.name = m.name.clone().or(base.meta.name);
    base.meta.version = m.version.clone().or(base.meta.version);
    base.meta.description = m.description.clone().or(base.meta.description);
    base.meta.author = m.author.clone().or(base.meta.author);
    if child.workdir.is_some() {
        base.workdir = child.workdir.clone();
    }
    let (f, cf) = (&mut base.filesystem, &child.filesystem);
    cat(&mut f.allow, &cf.allow);
    cat(&mut f.read, &cf.read);
    cat(&mut f.write, &cf.write);
    cat(&mut f.allow_file, &cf.allow_file);
    cat(&mut f.read_file, &cf.read_file);
    cat(&mut f.write_file, &cf.write_file);
    cat(&mut f.suppress_save_prompt, &cf.suppress_save_prompt);
    cat(&mut f.allow_unix_socket, &cf.allow_unix_socket);
    cat(&mut f.allow_unix_socket_bind, &cf.allow_unix_socket_bind);
    cat(&mut f.allow_unix_socket_dir, &cf.allow_unix_socket_dir);
    cat(
        &mut f.allow_unix_socket_dir_bind,
        &cf.allow_unix_socket_dir_bind,
    );
    cat(
        &mut f.allow_unix_socket_subtree,
        &cf.allow_unix_socket_subtree,
    );
    cat(
        &mut f.allow_unix_socket_subtree_bind,
        &cf.allow_unix_socket_subtree_bind,
    );
    let (n, cn) = (&mut base.network, &child.network);
    n.block = cn.block.or(n.block);
    n.network_profile = cn.network_profile.clone().or(n.network_profile.take());
    cat(&mut n.allow_hosts, &cn.allow_hosts);
    cat(&mut n.allow_domain, &cn.allow_domain);
    cat(&mut n.proxy_credentials, &cn.proxy_credentials);
    cat(&mut n.credentials, &cn.credentials);
    n.custom_credentials.extend(cn.custom_credentials.clone());
    n.open_port.extend(&cn.open_port);
    n.listen_port.extend(&cn.listen_port);
    let (s, cs) = (&mut base.security, &child.security);
    cat(&mut s.groups, &cs.groups);
    s.signal_mode = cs.signal_mode.clone().or(s.signal_mode.take());
    s.ipc_mode = cs.ipc_mode.clone().or(s.ipc_mode.take());
    s.capability_elevation = cs.capability_elevation.or(s.capability_elevation);
    s.allow_sysv_ipc = cs.allow_sysv_ipc.or(s.allow_sysv_ipc);
    s.allow_git_config_writes = cs.allow_git_config_writes.or(s.allow_git_config_writes);
    s.allow_gpu = cs.allow_gpu.or(s.allow_gpu);
    cat(&mut s.allowed_commands, &cs.allowed_commands);
    cat_opt(
        &mut base.groups,
        &child.groups,
        |b: &mut GroupSelection, c| cat(&mut b.include, &c.include),
    );
    cat(
        &mut base.policy.add_deny_access,
        &child.policy.add_deny_access,
    );
    cat(
        &mut base.policy.add_deny_write,
        &child.policy.add_deny_write,
    );
    cat(
        &mut base.policy.keep_read_only,
        &child.policy.keep_read_only,
    );
    base.secrets.extend(child.secrets.clone());
    base.env_credentials.extend(child.env_credentials.clone());
    base.env_paths.extend(child.env_paths.clone());
    base.mirror_files.extend(child.mirror_files.clone());
    for (k, v) in &child.mirror_user_keys {
        cat(base.mirror_user_keys.entry(k.clone()).or_default(), v);
    }
    if child.codex.is_some() {
        base.codex = child.codex.clone();
    }
    cat_opt(&mut base.undo, &child.undo, |b: &mut Undo, c| {
        cat(&mut b.exclude_patterns, &c.exclude_patterns);
        cat(&mut b.exclude_globs, &c.exclude_globs);
    });
    base.interactive = child.interactive.or(base.interactive);
    cat_opt(
        &mut base.commands,
        &child.commands,
        |b: &mut Commands, c| {
            cat(&mut b.allow, &c.allow);
            cat(&mut b.block, &c.block);
        },
    );
    base.extends = None;
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::profile::{parse, Format};

    #[test]
    fn child_adds_to_lists_and_overrides_scalars() {
        let base = parse(
            "[network]\nblock = false\n[filesystem]\nallow = [\"/a\"]\n[policy]\nadd_deny_access = [\"/s\"]\n",
            Format::Toml,
            "b",
        )
        .unwrap();
        let child = parse(
            "[network]\nblock = true\n[filesystem]\nallow = [\"/b\", \"/a\"]\n",
            Format::Toml,
            "c",
        )
        .unwrap();
        let m = merge(base, &child);
        assert_eq!(m.network.block, Some(true));
        assert_eq!(m.filesystem.allow, ["/a", "/b"]);
        assert_eq!(
            m.policy.add_deny_access,
            ["/s"],
            "a child never drops a parent's protection"
        );
    }
}
