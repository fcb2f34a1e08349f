"""Lists AWS keeps as sets compare as sets; lists whose order AWS honours do not."""

from __future__ import annotations

from runbook.kinds.sets import CLOUDFRONT_SETS, POLICY_SETS, same_sets


def test_aliases_and_origins_compare_as_sets_but_cache_behaviours_keep_their_order():
    a = {"Aliases": {"Items": ["a.test", "b.test"]},
         "Origins": {"Items": [{"Id": "one"}, {"Id": "two"}]},
         "CacheBehaviors": {"Items": [{"PathPattern": "/x/*"}, {"PathPattern": "/*"}]}}
    b = {"Aliases": {"Items": ["b.test", "a.test"]},
         "Origins": {"Items": [{"Id": "two"}, {"Id": "one"}]},
         "CacheBehaviors": {"Items": [{"PathPattern": "/x/*"}, {"PathPattern": "/*"}]}}
    assert same_sets(a, b, CLOUDFRONT_SETS)
    b["CacheBehaviors"]["Items"].reverse()  # CloudFront tries behaviours in order
    assert not same_sets(a, b, CLOUDFRONT_SETS)


def test_policy_statements_compare_as_a_set():
    one, two = {"Sid": "A", "Effect": "Allow"}, {"Sid": "B", "Effect": "Deny"}
    assert same_sets({"Statement": [one, two]}, {"Statement": [two, one]}, POLICY_SETS)
    assert not same_sets({"Statement": [one]}, {"Statement": [two, one]}, POLICY_SETS)
