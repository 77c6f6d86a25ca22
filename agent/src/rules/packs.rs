//! The stock rule packs, compiled into the binary.
//!
//! `warden run` with no configuration file must alert on a sick host and on
//! a sick warden without any file on disk, so the packs in `rules/packs/`
//! are embedded with `include_str!` and turned on by name in `rule_packs`.
//! They load through the same rule-file parser as user files; the name they
//! carry as their "file" (`pack:host.yml`) shows in `/api/v1/rules` and in
//! the `rule_group` label, and cannot be mistaken for a path.

use crate::config::RulePack;

/// The text of a pack, as shipped in `rules/packs/<name>.yml`.
pub fn text(pack: RulePack) -> &'static str {
    match pack {
        RulePack::Host => include_str!("../../../rules/packs/host.yml"),
        RulePack::Warden => include_str!("../../../rules/packs/warden.yml"),
        RulePack::Leak => include_str!("../../../rules/packs/leak.yml"),
    }
}

/// The name a pack's groups carry as their file.
pub fn file_name(pack: RulePack) -> String {
    format!("pack:{}.yml", pack.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_rules::rulefmt::{LoadOptions, parse};

    #[test]
    fn every_pack_is_a_valid_rule_file() {
        for pack in [RulePack::Host, RulePack::Warden, RulePack::Leak] {
            let f = parse(&file_name(pack), text(pack), LoadOptions::default())
                .unwrap_or_else(|e| panic!("pack {}: {e}", pack.name()));
            assert!(f.rule_count() > 0, "pack {} has no rules", pack.name());
        }
    }
}
