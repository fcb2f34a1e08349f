"""The redirect map's prefix entries as ``cloudfront.redirects`` stores them and
``http.redirects`` asks them: what is refused (with the entry named), the keys the
KeyValueStore gets, and how the gate's diff shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook.errors import KindError
from runbook.kinds.aws import redirmap
from runbook.kinds.wire.redirprefix import CHILD, probes

OLD, NEW = "https://old.example.org", "https://new.example.org"


def read(pairs: dict[str, str], tmp_path: Path) -> list[redirmap.Entry]:
    return redirmap.read(tmp_path, pairs, None, status=301, keep_query=False)


@pytest.mark.parametrize(("source", "target", "words"), [
    (f"{OLD}/docs/*/page", f"{NEW}/help/", "may only be the whole last segment of the old"),
    (f"{OLD}/docs*", f"{NEW}/help/", "may only be the whole last segment of the old"),
    (f"{OLD}/docs/*/*", f"{NEW}/help/*", "may only be the whole last segment of the old"),
    (f"{OLD}/docs/page", f"{NEW}/help/*", "but the old URL is not a prefix"),
    (f"{OLD}/docs/*", f"{NEW}/help*", "in the new URL https://new.example.org/help*"),
    (f"{OLD}/docs/*", f"{NEW}/help/*?a=1", "no query after it"),
    (f"{OLD}/docs/*", f"{NEW}/*/help/*", "a `*` may only be the whole last segment"),
    (f"{OLD}/a/b/c/d/e/f/g/h/i/*", f"{NEW}/*", "a prefix is at most 8 segments deep"),
])
def test_a_misplaced_star_is_refused_naming_the_entry(source: str, target: str, words: str,
                                                      tmp_path: Path) -> None:
    with pytest.raises(KindError) as caught:
        read({source: target}, tmp_path)
    assert f"entry {source}" in str(caught.value)
    assert words in str(caught.value)


def test_a_star_is_refused_in_a_map_file_too(tmp_path: Path) -> None:
    (tmp_path / "map.csv").write_text(f"old,new\n{OLD}/a/*/b,{NEW}/b\n")
    with pytest.raises(KindError) as caught:
        redirmap.read(tmp_path, None, "map.csv", status=301, keep_query=False)
    assert str(caught.value).startswith(f"{tmp_path / 'map.csv'}: entry {OLD}/a/*/b:")


def test_prefixes_get_their_own_key_and_the_depths_key_lists_them_longest_first(
        tmp_path: Path) -> None:
    entries = read({f"{OLD}/*": f"{NEW}/*", f"{OLD}/docs/a/*": f"{NEW}/special",
                    f"{OLD}/docs/*": f"{NEW}/help/*", f"{OLD}/docs/x": f"{NEW}/x"},
                   tmp_path)
    keys = redirmap.store_keys(entries)
    assert json.loads(keys[redirmap.DEPTHS_KEY]) == [2, 1, 0]
    assert json.loads(keys["/docs/*"])["l"] == f"{NEW}/help/*"
    assert set(keys) == {"/*", "/docs/a/*", "/docs/*", "/docs/x", redirmap.DEPTHS_KEY}
    # a map of exact paths only has no depths key: the function's miss costs no more
    assert redirmap.DEPTHS_KEY not in redirmap.store_keys(
        read({f"{OLD}/docs/x": f"{NEW}/x"}, tmp_path))


def test_the_diff_shows_a_prefix_and_its_target_in_words(tmp_path: Path) -> None:
    (entry,) = read({f"{OLD}/docs/*": f"{NEW}/help/*"}, tmp_path)
    assert redirmap.label(entry.key) == "redirect /docs/* (every path under /docs/)"
    assert redirmap.show(entry.value()) == f"301 {NEW}/help/<rest of the path>"
    with_page = redirmap.Entry(entry.source, entry.key, entry.location, 302, True,
                               message="Update your bookmarks", to_origin=True)
    assert redirmap.show(with_page.value()) == (
        f"302 {NEW}/help/<rest of the path> (query kept) (browsers: the bookmark page; "
        "others: the origin)")


def test_http_redirects_asks_a_prefix_itself_and_a_child_path() -> None:
    assert probes(f"{OLD}/docs/*", f"{NEW}/help/*") == [
        (f"{OLD}/docs/", f"{NEW}/help/"), (f"{OLD}/docs/{CHILD}", f"{NEW}/help/{CHILD}")]
    assert probes(f"{OLD}/docs/*", f"{NEW}/moved") == [
        (f"{OLD}/docs/", f"{NEW}/moved"), (f"{OLD}/docs/{CHILD}", f"{NEW}/moved")]
    assert probes(f"{OLD}/a", f"{NEW}/b") == [(f"{OLD}/a", f"{NEW}/b")]


def test_both_kinds_refuse_a_misplaced_star_in_an_inline_map() -> None:
    from pydantic import ValidationError

    from runbook.kinds.aws.redirects import RedirectsParams
    from runbook.kinds.wire.http import HttpRedirectsParams

    bad = {f"{OLD}/docs/*/x": f"{NEW}/help/*"}
    for params in (RedirectsParams, HttpRedirectsParams):
        with pytest.raises(ValidationError) as caught:
            params.model_validate({"id": "E1", "map": bad} if params is RedirectsParams
                                  else {"map": bad})
        assert f"entry {OLD}/docs/*/x" in str(caught.value)
