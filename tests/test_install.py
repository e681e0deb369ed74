"""The install paths people use, each into a fresh `python3 -m venv` with the pip it brings (not
upgraded): the README's "Install" blocks, run as written by bash, in a copy of the checkout and in
a folder holding only the wheel. After the checkout's steps `qa ask` answers from an HTML, a PDF
and a DOCX file, and names the package to install once lxml_html_clean is removed; the wheel
carries the reader's weights and the bundled article and answers on it. Every `qa` command runs
in a network namespace of its own (`unshare`), so it is shown to need no network.

Slow: two environments are installed (torch from the local wheel pip is configured with, the
rest from pip's cache or index), about 110 s each on 2 cores, and each `qa ask` takes 11-14 s:
about 4.5 minutes in all.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import BUNDLED, REPO
from test_formats import HTML_ARTICLE, WRAPPED_SENTENCE, review_pdf, school_docx

pytestmark = pytest.mark.slow

STEPS = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8")
                   .partition("\n## Install\n")[2].partition("\n## ")[0], re.S)
"""The README's "Install" blocks: the checkout's steps, the wheel's build, the wheel's install."""
FORMATS = [  # file, question, words of the answer
    ("library.html", "How much is the grant from the county?", "£40,000"),
    ("review.pdf", "How much will the harbour wall repairs cost?", WRAPPED_SENTENCE),
    ("school.docx", "Which school won the regional science prize?", "Eastmouth Academy"),
]
OFFLINE = ["unshare", "--net", "--map-root-user"]
"""A command after this has a network namespace of its own: no address but its own loopback."""
MINUTES = 60


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    """This process's environment less its virtual environment, and a fresh index cache."""
    outer = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(part for part in os.environ["PATH"].split(os.pathsep) if part != outer)
    kept = {name: value for name, value in os.environ.items()
            if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    return {**kept, "PATH": path, "QA_INDEX_DIR": str(tmp_path_factory.mktemp("indexes"))}


def run(script: str, folder: Path, environment: dict[str, str], *, offline: bool = False) -> subprocess.CompletedProcess[str]:
    """`script` run by bash in `folder` as typed into a terminal; it must succeed, and stops at the
    first command that fails. `offline`: in a network namespace of its own."""
    assert not offline or shutil.which("unshare"), "unshare (util-linux) is needed to run qa without network"
    result = subprocess.run([*(OFFLINE if offline else []), "bash", "-e", "-c", script], cwd=folder,
                            env=environment, capture_output=True, text=True, timeout=10 * MINUTES)
    assert result.returncode == 0, f"{script}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def ask(folder: Path, line: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `qa` command line run offline with `folder`'s `.venv` activated."""
    return run(f". .venv/bin/activate\n{line}", folder, environment, offline=True)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, environment) -> Path:
    """A copy of the files a clone of this checkout has (tracked, and new ones not ignored), after
    the README's first block ran in it."""
    assert len(STEPS) == 3, "README's Install section should hold three sh blocks: checkout, wheel build, wheel install"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True)
    assert listed.returncode == 0, f"the checkout is copied with git ls-files: {listed.stderr}"
    copy = tmp_path_factory.mktemp("checkout")
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():  # a tracked file deleted in the work tree is not copied
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    run(STEPS[0], copy, environment)
    return copy


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("documents")
    (folder / "library.html").write_text(HTML_ARTICLE, encoding="utf-8")
    (folder / "review.pdf").write_bytes(review_pdf())
    (folder / "school.docx").write_bytes(school_docx())
    return folder


@pytest.fixture(scope="module")
def wheel(checkout, environment) -> Path:
    """The wheel the README's second block builds, with the pip of the checkout's environment."""
    run(f". .venv/bin/activate\n{STEPS[1]}", checkout, environment)
    built = list((checkout / "dist").glob("*.whl"))
    assert len(built) == 1, built
    return built[0]


def test_the_checkout_steps_keep_the_pip_that_venv_brings(checkout, environment):
    script = ". .venv/bin/activate\npython -c 'import ensurepip; print(ensurepip.version())'\npip --version"
    bundled, installed = run(script, checkout, environment).stdout.splitlines()
    assert installed.startswith(f"pip {bundled} "), installed


def test_every_extra_an_old_pip_cannot_match_is_installed_anyway(checkout):
    """An older pip (23.2) takes an extra only as its package spells it (jusText asks for
    `lxml[html_clean]`, lxml provides `html-clean`) and leaves out what it brings: each such
    package must be installed all the same, through a requirement of its own."""
    site = next((checkout / ".venv" / "lib").glob("python3*/site-packages"))
    installed = {canonicalize_name(dist.metadata["Name"]): dist
                 for dist in importlib.metadata.distributions(path=[str(site)])}
    left_out = []
    for dist in installed.values():
        for requirement in map(Requirement, dist.requires or []):
            target = installed.get(canonicalize_name(requirement.name))
            if target is None or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
                continue
            for extra in requirement.extras - set(target.metadata.get_all("Provides-Extra") or []):
                left_out += [f"{dist.metadata['Name']} asks for {requirement}, which brings {need}"
                             for need in map(Requirement, target.requires or [])
                             if need.marker and need.marker.evaluate({"extra": canonicalize_name(extra)})
                             and canonicalize_name(need.name) not in installed]
    assert not left_out, left_out


@pytest.mark.parametrize(("name", "question", "words"), FORMATS, ids=[name for name, *_ in FORMATS])
def test_after_the_checkout_steps_qa_answers_from_each_format(checkout, documents, environment, name, question, words):
    result = ask(checkout, f"qa ask {shlex.quote(question)} --corpus {documents} --json", environment)
    best = json.loads(result.stdout)["quotes"][0]
    assert best["source"] == name and words in best["text"].replace("\n", " "), best
    assert not result.stderr, result.stderr


def test_a_missing_extractor_package_is_one_warning_naming_it_and_the_rest_is_read(checkout, documents, environment):
    name, question, words = FORMATS[1]
    run(". .venv/bin/activate\npip uninstall --yes lxml_html_clean", checkout, environment)
    try:
        result = ask(checkout, f"qa ask {shlex.quote(question)} --corpus {documents} --json", environment)
    finally:
        run(". .venv/bin/activate\npip install lxml_html_clean", checkout, environment)
    assert json.loads(result.stdout)["quotes"][0]["source"] == name
    assert result.stderr.splitlines() == [
        f"qa: warning: {documents / 'library.html'}: reading HTML needs the package lxml_html_clean, "
        "which is not installed: run `pip install lxml_html_clean`, skipped"]


def test_the_wheel_carries_the_reader_and_the_bundled_article(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"qa/models/{path.name}" for path in (REPO / "qa" / "models").iterdir()}
    shipped |= {f"qa/bundled_corpus/{path.name}" for path in BUNDLED.iterdir()}
    assert shipped <= names and "qa/models/reader.safetensors" in shipped, shipped - names


def test_the_wheel_installed_in_a_fresh_venv_answers_on_the_bundled_article_offline(wheel, tmp_path, environment):
    shutil.copy(wheel, tmp_path)
    *install, question = STEPS[2].strip().splitlines()
    assert question.startswith("qa ask "), "the README's wheel block should end with a `qa ask` line"
    run("\n".join(install), tmp_path, environment)
    result = ask(tmp_path, question, environment)
    assert "Voyager Space" in result.stdout and "· announcement.txt, characters" in result.stdout, result.stdout
