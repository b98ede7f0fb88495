"""The GitHub Action (action.yml): linted by the real actionlint and shellcheck, and its run: scripts run for real.

The scripts run as the runner runs a composite action's `shell: bash` steps, in git clones
made the ways actions/checkout makes them, with the GITHUB_* variables GitHub sets and
each step's `${{ }}` expressions evaluated; the `uses:` steps (setup-python, cache,
upload-sarif) are GitHub's and are linted, not run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mig_lint.words import counted
from tests.conftest import alembic_script
from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
TOOLS = Path(sys.executable).parent  # actionlint and shellcheck come with the test extras
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T",
           "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x"}


def _git(cwd, *args):
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


# actionlint ----------------------------------------------------------------------------------------------


def _actionlint(project: Path, workflow: dict | str) -> subprocess.CompletedProcess[str]:
    """The real actionlint (with the real shellcheck) on one workflow of a project whose root holds action.yml."""
    if not (project / ".git").exists():
        _git(project, "init", "-q")
        shutil.copy(ROOT / "action.yml", project / "action.yml")
    path = project / ".github" / "workflows" / "gate.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow if isinstance(workflow, str) else yaml.safe_dump(workflow, sort_keys=False))
    return subprocess.run([str(TOOLS / "actionlint"), "-no-color", "-oneline", "-pyflakes", "",
                           "-shellcheck", str(TOOLS / "shellcheck"), str(path)],
                          cwd=project, capture_output=True, text=True)


def _workflow(steps, on="pull_request", inputs=None):
    return {"name": "migrations", "on": on if inputs is None else {"workflow_call": {"inputs": inputs}},
            "permissions": {"contents": "read", "security-events": "write"},
            "jobs": {"mig-lint": {"runs-on": "ubuntu-latest", "steps": steps}}}


CHECKOUT = {"uses": "actions/checkout@v5"}
EVERY_INPUT = {"paths": "db other/db", "base": "origin/stable", "args": "--select ML1,ML5 --quiet", "sarif": "true",
               "sarif-file": "reports/mig-lint.sarif", "cache": "false", "setup-python": "false",
               "python-version": "3.13"}


def test_every_input_is_declared_and_documented():
    assert set(ACTION["inputs"]) == set(EVERY_INPUT)
    assert all(spec["description"] and "default" in spec for spec in ACTION["inputs"].values())


def test_a_workflow_using_the_action_lints_clean(tmp_path):
    steps = [CHECKOUT, {"id": "gate", "uses": "./", "with": EVERY_INPUT},
             {"if": "always()", "run": 'echo "${{ steps.gate.outputs.exit-code }} ${{ steps.gate.outputs.sarif-file }}"'}]
    linted = _actionlint(tmp_path, _workflow(steps))
    assert (linted.returncode, linted.stdout) == (0, "")


def test_a_misspelt_input_fails_the_lint(tmp_path):
    linted = _actionlint(tmp_path, _workflow([CHECKOUT, {"uses": "./", "with": {"path": "db"}}]))
    assert linted.returncode == 1
    assert 'input "path" is not defined in action "mig-lint"' in linted.stdout


def test_a_misspelt_output_fails_the_lint(tmp_path):
    steps = [CHECKOUT, {"id": "gate", "uses": "./"}, {"run": 'echo "${{ steps.gate.outputs.exitcode }}"'}]
    linted = _actionlint(tmp_path, _workflow(steps))
    assert linted.returncode == 1 and 'property "exitcode" is not defined' in linted.stdout


def _readme_workflow():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Gate recipes"):]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_workflow_lints_clean(tmp_path):
    text = _readme_workflow()
    assert "uses: mig-lint/mig-lint@v0" in text and "security-events: write" in text
    linted = _actionlint(tmp_path, text.replace("mig-lint/mig-lint@v0", "./"))
    assert (linted.returncode, linted.stdout) == (0, "")


def _transplanted(steps):
    """The action's own steps as a reusable workflow's job: actionlint then checks each `uses:` step's inputs,
    the expressions, and (through shellcheck) each run: script."""
    inputs = {name: {"type": "string", "required": False, "default": spec["default"]}
              for name, spec in ACTION["inputs"].items()}
    return _workflow(steps, inputs=inputs)


def test_the_actions_own_steps_lint_clean(tmp_path):
    linted = _actionlint(tmp_path, _transplanted(STEPS))
    assert (linted.returncode, linted.stdout) == (0, "")


def test_a_misspelt_input_of_a_nested_action_fails_the_lint(tmp_path):
    """The negative control of the transplant: actionlint knows actions/cache's inputs (not codeql-action's)."""
    broken = [{**step, "with": {"restore-key" if k == "restore-keys" else k: v for k, v in step["with"].items()}}
              if step.get("id") == "restore" else step for step in STEPS]
    linted = _actionlint(tmp_path, _transplanted(broken))
    assert linted.returncode == 1 and 'input "restore-key" is not defined in action' in linted.stdout


def test_shellcheck_runs_on_the_transplanted_scripts(tmp_path):
    """The negative control: a script with an unquoted variable is caught, so a clean lint means shellcheck ran."""
    broken = [dict(step, run=step["run"] + "echo $status\n") if step.get("id") == "check" else step for step in STEPS]
    linted = _actionlint(tmp_path, _transplanted(broken))
    assert linted.returncode == 1 and "SC2086" in linted.stdout


# the run: scripts -----------------------------------------------------------------------------------------


def _step(step_id):
    return next(step for step in STEPS if step.get("id") == step_id)


class Runner:
    """Runs the action's run: steps one by one, as GitHub would in `workspace`."""

    def __init__(self, workspace: Path, temp: Path, inputs: dict[str, str], base_ref: str = "main",
                 outputs: dict[str, dict[str, str]] | None = None) -> None:
        self.workspace, self.temp = workspace, temp
        self.inputs = {name: spec["default"] for name, spec in ACTION["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        assert not unknown, f"not inputs of the action: {unknown}"
        self.inputs.update(inputs)
        self.base_ref = base_ref
        self.outputs: dict[str, dict[str, str]] = dict(outputs or {})

    def value(self, name: str) -> str:
        if name.startswith("'"):
            return name.strip("'")
        if name.startswith("inputs."):
            return self.inputs[name[len("inputs."):]]
        if name == "github.action_path":
            return str(self.temp / "action")
        parts = name.split(".")
        assert parts[0] == "steps" and parts[2] == "outputs" and len(parts) == 4, f"cannot evaluate {name}"
        return self.outputs.get(parts[1], {}).get(parts[3], "")

    def evaluate(self, text: str) -> str:
        """`${{ a }}` and `${{ a || 'b' }}`: what the action's env: entries use."""
        def one(match):
            for alternative in match.group(1).split("||"):
                value = self.value(alternative.strip())
                if value:
                    return value
            return ""
        return EXPRESSION.sub(one, text)

    def run(self, step_id: str) -> subprocess.CompletedProcess[str]:
        step = _step(step_id)
        assert step["shell"] == "bash" and "${{" not in step["run"], "inputs reach scripts through env: only"
        files = {name: self.temp / f"{step_id}.{name}" for name in ("output", "env", "path", "summary")}
        for path in files.values():
            path.write_text("")
        script = self.temp / f"{step_id}.sh"
        script.write_text(step["run"])
        env = {
            **os.environ, **GIT_ENV, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_NAME": "pull_request" if self.base_ref else "push", "GITHUB_BASE_REF": self.base_ref,
            "GITHUB_HEAD_REF": "feature" if self.base_ref else "", "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_ENV": str(files["env"]), "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]), "GITHUB_ACTION_PATH": str(self.temp / "action"),
            "RUNNER_TEMP": str(self.temp), "RUNNER_OS": "Linux",
            **{key: self.evaluate(str(value)) for key, value in step.get("env", {}).items()},
        }
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=self.workspace,
                              env=env, capture_output=True, text=True)
        self.outputs[step_id] = dict(line.split("=", 1) for line in files["output"].read_text().splitlines())
        return done

    def wiring(self) -> set[str]:
        """Step outputs the `uses:` steps read that no step wrote."""
        missing = set()
        for step in STEPS:
            for value in [*step.get("with", {}).values(), step.get("if", "")]:
                for step_id, name in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", str(value)):
                    if step_id != "restore" and name not in self.outputs.get(step_id, {}):
                        missing.add(f"{step_id}.{name}")
        return missing


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The install step, run once: a virtualenv in RUNNER_TEMP with mig-lint from a copy of this checkout."""
    temp = tmp_path_factory.mktemp("runner-temp")
    shutil.copytree(ROOT, temp / "action", ignore=shutil.ignore_patterns(
        ".git", ".venv*", "benchmarks", "fixtures", "tests", "__pycache__", "build", "*.egg-info", ".mig-lint-cache"))
    workspace = tmp_path_factory.mktemp("workspace")
    _git(workspace, "init", "-q")
    runner = Runner(workspace, temp, {"setup-python": "false"})
    done = runner.run("install")
    assert done.returncode == 0, done.stderr
    assert runner.outputs["install"] == {"python": f"{temp}/mig-lint-venv/bin/python",
                                         "mig-lint": f"{temp}/mig-lint-venv/bin/mig-lint", "version": "0.1.0"}
    return temp, runner.outputs


ALEMBIC = {"db/env.py": "", "db/versions/a.py": alembic_script("a", None), "db/versions/b.py": alembic_script("b", "a")}


@pytest.fixture
def upstream(git, in_tmp):
    """The repository on GitHub. main: a <- b <- d; feature: a <- b <- c (c does not follow main's head)."""
    def commit(files, message):
        write_tree(in_tmp, files)
        git("add", "-A")
        git("commit", "-q", "-m", message)

    commit({**ALEMBIC, "README": "x"}, "base")
    for number in range(3):
        commit({f"notes/{number}.txt": "x"}, f"note {number}")
    git("checkout", "-q", "-b", "feature")
    commit({"db/versions/c.py": alembic_script("c", "b")}, "c")
    git("checkout", "-q", "main")
    commit({"db/versions/d.py": alembic_script("d", "b")}, "d")
    git("checkout", "-q", "-b", "rebased")
    commit({"db/versions/c.py": alembic_script("c", "d")}, "c on d")
    git("checkout", "-q", "main")
    return in_tmp


def _checkout(upstream: Path, workspace: Path, how: str, branch: str = "feature") -> None:
    """The clone a job starts from."""
    if how == "full":  # actions/checkout with fetch-depth: 0
        _git(upstream.parent, "clone", "-q", "--branch", branch, f"file://{upstream}", str(workspace))
    elif how == "depth-1":
        _git(upstream.parent, "clone", "-q", "--depth", "1", "--branch", branch, f"file://{upstream}", str(workspace))
    else:  # actions/checkout's default on a pull request: the merge commit alone, detached
        _git(upstream, "checkout", "-q", "-b", f"merge-{branch}", "main")
        _git(upstream, "merge", "-q", "--no-edit", branch)
        merge = _git(upstream, "rev-parse", "HEAD").strip()
        _git(upstream, "checkout", "-q", "main")
        workspace.mkdir()
        _git(workspace, "init", "-q")
        _git(workspace, "remote", "add", "origin", f"file://{upstream}")
        _git(workspace, "fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{merge}:refs/remotes/pull/1/merge")
        _git(workspace, "checkout", "-q", "--detach", "refs/remotes/pull/1/merge")


def _job(installed, upstream, tmp_path, how="depth-1", branch="feature", base_ref="main", **inputs):
    """Check out, then run the key, fetch and check steps; the check step's result and the runner."""
    temp, outputs = installed
    workspace = tmp_path.parent / f"{tmp_path.name}-workspace"
    _checkout(upstream, workspace, how, branch)
    runner = Runner(workspace, temp, inputs, base_ref, outputs)
    for step_id in ("key", "base"):
        done = runner.run(step_id)
        assert done.returncode == 0, done.stderr
    return runner.run("check"), runner


def _sarif_results(path):
    return [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in json.loads(Path(path).read_text())["runs"][0]["results"]]


ML501 = ("::error file=db/versions/c.py,line=2,col=1,title=ML501 not-on-base-head::c follows b, but the head of "
         "origin/main is d")


@pytest.mark.parametrize(
    ("how", "results"),
    (
        pytest.param("full", [("ML501", "db/versions/c.py")], id="fetch-depth-0"),
        pytest.param("depth-1", [("ML501", "db/versions/c.py")], id="depth-1-clone"),
        pytest.param("merge", [("ML101", "db/versions/c.py"), ("ML101", "db/versions/d.py"),
                               ("ML103", "db/versions/b.py"), ("ML501", "db/versions/c.py")], id="pull-request-merge"),
    ),
)
def test_pull_request_gets_annotations_and_sarif(installed, upstream, tmp_path, how, results):
    done, runner = _job(installed, upstream, tmp_path, how)
    assert done.returncode == 1, done.stderr
    assert _git(runner.workspace, "rev-parse", "--is-shallow-repository").strip() == "false"
    sarif = str(runner.workspace / "mig-lint.sarif")
    assert runner.outputs["check"] == {"exit-code": "1", "sarif-file": sarif}
    assert sorted(_sarif_results(sarif)) == results
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == len(results) and any(line.startswith(ML501) for line in annotations)
    assert done.stdout.splitlines()[-1].startswith(f"Found {counted(len(results), 'error')} in 1 tree, ")
    assert runner.wiring() == set()


def test_a_clean_pull_request(installed, upstream, tmp_path):
    done, runner = _job(installed, upstream, tmp_path, branch="rebased")
    assert (done.returncode, done.stdout, done.stderr) == (0, "No problems in 1 tree, 4 revisions.\n", "")
    assert _sarif_results(runner.outputs["check"]["sarif-file"]) == []
    assert runner.outputs["check"]["exit-code"] == "0"


def test_without_sarif_the_annotations_only(installed, upstream, tmp_path):
    done, runner = _job(installed, upstream, tmp_path, sarif="false")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(ML501)
    assert runner.outputs["check"] == {"exit-code": "1"}
    assert not (runner.workspace / "mig-lint.sarif").exists()


def test_paths_args_and_base_inputs(installed, upstream, tmp_path):
    """`base` is used where no pull request gives one; `args` and `paths` are split as a shell splits them."""
    done, runner = _job(installed, upstream, tmp_path, "depth-1", base_ref="", paths="'db'", base="origin/main",
                        args="--quiet --select 'ML1,ML5'", **{"sarif-file": "reports/mig-lint.sarif"})
    assert runner.outputs["base"] == {"ref": "origin/main"}
    assert (done.returncode, done.stdout.splitlines()) == (1, [
        ML501 + ": after the merge the history forks%0Ahint: run `mig-lint rebase --base origin/main` "
        "(it sets down_revision = 'd' and Revises: d)"])
    sarif = runner.outputs["check"]["sarif-file"]
    assert sarif == str(runner.workspace / "reports/mig-lint.sarif") and _sarif_results(sarif) == [
        ("ML501", "db/versions/c.py")]


def test_outside_a_pull_request_no_base(installed, upstream, tmp_path):
    done, runner = _job(installed, upstream, tmp_path, "depth-1", base_ref="")
    assert runner.outputs["base"] == {"ref": ""}
    assert (done.returncode, done.stdout) == (0, "No problems in 1 tree, 3 revisions.\n")
    assert _git(runner.workspace, "rev-parse", "--is-shallow-repository").strip() == "true"


def test_a_usage_error_exits_2_without_a_report(installed, upstream, tmp_path):
    done, runner = _job(installed, upstream, tmp_path, args="--select ML9")
    assert done.returncode == 2
    assert "'--select' has 'ML9', which is the prefix of no rule" in done.stderr
    assert runner.outputs["check"] == {"exit-code": "2"}


def test_the_cache_key_follows_the_migrations(installed, upstream, tmp_path):
    temp, outputs = installed
    workspace = tmp_path.parent / f"{tmp_path.name}-workspace"
    _checkout(upstream, workspace, "full")

    def key(**inputs):
        runner = Runner(workspace, temp, inputs, "main", outputs)
        assert runner.run("key").returncode == 0
        return runner.outputs["key"]

    first = key()
    assert first["prefix"] == "mig-lint-Linux-0.1.0-" and first["key"].startswith(first["prefix"])
    assert first["dir"] == f"{temp}/mig-lint-cache"
    write_tree(workspace, {"README": "changed", "notes/9.txt": "new"})
    _git(workspace, "add", "-A")
    assert key() == first
    write_tree(workspace, {"db/versions/e.py": alembic_script("e", "c")})
    _git(workspace, "add", "-A")
    assert key()["key"] != first["key"]
    assert key(paths="notes")["key"] != key(paths="notes README")["key"]


def test_the_cache_is_where_mig_lint_writes_it(installed, upstream, tmp_path):
    done, runner = _job(installed, upstream, tmp_path, "full", cache="true")
    assert done.returncode == 1
    assert sorted(p.name for p in Path(runner.outputs["key"]["dir"]).iterdir())[0] == ".gitignore"
