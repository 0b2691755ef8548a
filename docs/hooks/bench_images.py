"""MkDocs hook: the benchmark charts live in bench/results/ (next to the raw figures they
plot) and docs/benchmarks.md links them as ../bench/results/...; the site serves them as
bench-results/... so that the page works both on its own and in the built site."""

from __future__ import annotations

import os

from mkdocs.structure.files import File

_PREFIX = "../bench/results/"


def on_files(files, config):
    root = os.path.join(os.path.dirname(config["docs_dir"]), "bench", "results")
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".png"):
                relative = os.path.relpath(os.path.join(folder, name), root)
                files.append(
                    File.generated(config, f"bench-results/{relative}", abs_src_path=os.path.join(folder, name))
                )
    return files


def on_page_markdown(markdown, page, config, files):
    return markdown.replace(_PREFIX, "bench-results/")
