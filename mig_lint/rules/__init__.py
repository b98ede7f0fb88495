"""Every rule, listed explicitly and sorted by code, and how a run selects them."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import replace

from mig_lint.config import Config
from mig_lint.config import ConfigError
from mig_lint.model import Finding
from mig_lint.model import Hit
from mig_lint.model import Script
from mig_lint.model import Severity
from mig_lint.rules import gate
from mig_lint.rules import history
from mig_lint.rules import hygiene
from mig_lint.rules import migrate
from mig_lint.rules import operations
from mig_lint.rules import project
from mig_lint.rules import scripts
from mig_lint.rules.base import Rule
from mig_lint.rules.base import RuleContext

ALL_RULES: tuple[Rule, ...] = (
    history.multiple_heads,
    history.multiple_bases,
    history.branch_point,
    history.merge_revision,
    history.cycle,
    history.missing_parent,
    history.missing_dependency,
    history.duplicate_revision,
    history.effective_head,
    history.label_conflict,
    history.unread_revision_scripts,
    scripts.syntax_error,
    scripts.missing_identifier,
    scripts.dynamic_identifier,
    scripts.stale_docstring_id,
    scripts.stale_docstring_revises,
    scripts.invalid_revision_id,
    scripts.revision_id_too_long,
    scripts.unexpected_script,
    hygiene.file_name_mismatch,
    hygiene.placeholder_revision_id,
    hygiene.application_import,
    hygiene.offline_unsafe,
    migrate.number_collision,
    migrate.numbering_gap,
    migrate.invalid_sql_name,
    migrate.duplicate_sql_script,
    migrate.unknown_dialect,
    migrate.stray_numbered_entry,
    migrate.ignored_short_number,
    migrate.old_repository_format,
    migrate.timestamp_numbering,
    migrate.versions_json_mismatch,
    migrate.missing_upgrade,
    migrate.invalid_migrate_cfg,
    project.broken_handoff,
    project.stale_head_file,
    project.migration_without_test,
    project.label_placement,
    gate.not_on_base_head,
    gate.number_taken_on_base,
    gate.edited_merged_migration,
    gate.removed_merged_migration,
    gate.reparented_merged_migration,
    operations.not_null_without_default,
    operations.blocking_index,
    operations.table_rewrite,
    operations.validating_foreign_key,
    operations.breaking_rename,
    operations.contract_in_expand,
    operations.destructive_operation,
)
RULES_BY_CODE = {r.code: r for r in ALL_RULES}
_PER_SCRIPT = tuple((r.code, r.per_script) for r in ALL_RULES if r.per_script is not None)


def script_hits(script: Script) -> tuple[tuple[str, Hit], ...]:
    """The hits of every per-script rule on one script, by code (kept with the script)."""
    return tuple((code, hit) for code, check in _PER_SCRIPT for hit in check(script))


def _longest(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=-1)


def is_selected(rule: Rule, config: Config) -> bool:
    """flake8's choice: the longest matching prefix of select and ignore wins.

    Opt-in rules run only when named in full (ML403 also when tests are configured); the
    ML6xx family also when selected by a prefix longer than `ML` (`ML6`, `ML60`).
    """
    selected = config.select + config.extend_select
    ignored = config.ignore + config.extend_ignore
    chosen = _longest(rule.code, selected)
    if chosen < 0 or chosen < _longest(rule.code, ignored):
        return False
    if rule.opt_in:
        family = rule.code.startswith("ML6") and chosen > len("ML")
        return rule.code in selected or family or (rule.code == "ML403" and config.tests is not None)
    return True


def known_codes(source: str, key: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """`codes` when each is a prefix of some rule's code; else ConfigError naming `key` and the codes there are."""
    for code in codes:
        if not any(rule.code.startswith(code) for rule in ALL_RULES):
            raise ConfigError(f"{source}: {key!r} has {code!r}, which is the prefix of no rule "
                              f"(the codes are {code_ranges()}; `mig-lint rules` lists them)")
    return codes


def require_known_codes(config: Config) -> Config:
    """`config` when every code prefix it names (select, ignore, per-file-ignores, severity) names a rule."""
    source = config.source or "the configuration"
    for key in ("select", "extend-select", "ignore", "extend-ignore"):
        known_codes(source, key, getattr(config, key.replace("-", "_")))
    for pattern, codes in config.per_file_ignores:
        known_codes(source, f"per-file-ignores.{pattern}", codes)
    for code, _level in config.severity:
        known_codes(source, f"severity.{code}", (code,))
    return config


def code_ranges() -> str:
    """Every rule code, a run of consecutive codes as a range: `ML101-ML111, ML201-ML212, ...`."""
    numbers = [int(rule.code[2:]) for rule in ALL_RULES]
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"ML{run[0]}" if len(run) == 1 else f"ML{run[0]}-ML{run[-1]}" for run in runs)


def selected_rules(config: Config) -> tuple[Rule, ...]:
    """The rules a run with this configuration applies."""
    return tuple(r for r in ALL_RULES if is_selected(r, config))


def run_rules(rules: Sequence[Rule], ctx: RuleContext) -> list[Finding]:
    """Every finding of `rules` on one tree, with configured severities applied."""
    severities = dict(ctx.config.severity)
    findings = []
    for rule in rules:
        for finding in rule.run(ctx):
            level = severities.get(finding.code)
            if level is not None:
                finding = _with_severity(finding, level)
            findings.append(finding)
    return findings


def _with_severity(finding: Finding, level: Severity) -> Finding:
    return replace(finding, severity=level)


def is_ignored_for_file(finding: Finding, config: Config, shown_root: str) -> bool:
    """`per-file-ignores`: a glob (relative to the config's folder or the cwd) and codes."""
    relative = finding.path
    if shown_root not in ("", ".") and relative.startswith(shown_root + "/"):
        relative = relative[len(shown_root) + 1:]
    for pattern, codes in config.per_file_ignores:
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(finding.path, pattern):
            if any(finding.code.startswith(c) for c in codes):
                return True
    return False
